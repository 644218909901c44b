#!/usr/bin/env node
// The default preset's frame scan (or, with --retrieval hnsw, the paper preset's hnswlib window
// index) against the exact path, on synthetic but real-looking hash sequences: scenes of 3-15 s in
// which each second's hash drifts by a few bits from the last, new random hashes at scene cuts.
// Planted copies carry 0-12 flipped bits per frame (re-encoding noise). Queries are 5-minute
// videos, half of them holding a planted 20-60 s copy. Speed, memory, and recall against --exact.
//   node --expose-gc bench/frame-scan.mjs [--windows 100000] [--queries 300] [--query-seconds 300]
//     [--retrieval scan|hnsw] [--whole-videos 0|1] [--topk 10] [--radius 40] [--sweep] [--kernels]
//     [--phases 4] [--exact 1|0] [--speeds 1|0] [--prefilter auto|on|off] [--reference exact|scan]
// --phases P: benchmark videos sampled at P phases per second (the default preset's), planted copies
// taken from a random phase (a copy that starts a fraction of a second off); 'windows' counts
// benchmark seconds.
// --exact 0: skip the exact path (with slanted alignments it compares ~40 lines per benchmark sample
// and speed: minutes per query at 1M windows); no identity or recall figures then.
// --exact-queries N: run the exact path on the first N queries only (identity and recall figures
// over those; every query is still timed and counted for planted copies).
// --speeds 0: the default preset without slanted alignments (speedRange 0).
// --rule JSON: fields merged into the default preset's rule (e.g. '{"shortWindow":0}': without short excerpts).
// --inner 0: without the inner-half comparison (the same data: every fingerprint holds inner-half hashes either way).
// --prefilter (scan; also --index): the frame scan's approximate prefilter: auto (from 1M benchmark seconds at 4
// phases), on, off. With it on, the recall figures are the prefilter's against the exact path.
// --kernels (scan): also time the frame scan's fallback loops (AVX2, portable) on the same queries;
// --sweep (hnsw): a few top-K / radius settings.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { BenchMatcher } = await import(path.join(root, 'dist/scan/matcher.js'));
const { DEFAULT } = await import(path.join(root, 'dist/scan/presets.js'));
const argText = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const arg = (name, def) => Number(argText(name, def));
const targetWindows = arg('windows', 100_000);
const queries = arg('queries', 300);
const querySeconds = arg('query-seconds', 300);
const retrieval = argText('retrieval', DEFAULT.retrieval);
const phases = arg('phases', retrieval === 'hnsw' ? 1 : DEFAULT.benchPhases);
if (retrieval !== 'scan' && retrieval !== 'hnsw') throw new Error(`--retrieval must be scan or hnsw, got ${retrieval}`);
// The default preset's rule; with hnsw, the paper's retrieval settings (its top-10, here with a
// radius and whole-video verification unless told otherwise).
const withExact = arg('exact', 1) === 1;
const prefilter = argText('prefilter', argText('index', 'auto'));
const preset = {
  ...DEFAULT,
  rule: { ...DEFAULT.rule, ...(arg('speeds', 1) === 0 ? { speedRange: 0 } : {}), ...JSON.parse(argText('rule', '{}')) },
  retrieval,
  benchPhases: phases,
  matchInner: retrieval === 'scan' && arg('inner', 1) === 1,
  ...(retrieval === 'hnsw'
    ? { hnsw: { topK: arg('topk', 10), candidateRadius: arg('radius', 40), offsetSlack: 1, verifyWholeVideos: arg('whole-videos', 1) === 1 } }
    : {}),
};

// mulberry32: a small PRNG with full 32-bit outputs (an LCG's weak low bits would make the
// "random" hashes correlated and inflate chance matches).
let seed = 12345;
const next32 = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return (t ^ (t >>> 14)) >>> 0;
};
const rnd = () => next32() / 2 ** 32;
const rint = (a, b) => a + Math.floor(rnd() * (b - a + 1));
const randomHash = () => (BigInt(next32()) << 32n) | BigInt(next32());
const flipBits = (h, k) => {
  for (let i = 0; i < k; i++) h ^= 1n << BigInt(rint(0, 63));
  return h;
};
function walk(n) {
  const out = new BigUint64Array(n);
  let h = randomHash();
  let sceneLeft = rint(3, 15);
  for (let i = 0; i < n; i++) {
    if (sceneLeft-- <= 0) {
      h = randomHash();
      sceneLeft = rint(3, 15);
    } else h = flipBits(h, rint(0, 3));
    out[i] = h;
  }
  return out;
}
const fingerprint = (hashes, fps = 1) => ({
  fps,
  hashes,
  rawHashes: hashes,
  flips: walk(hashes.length),
  centerHashes: hashes.map((h) => flipBits(h, rint(2, 8))),
  // The inner half: another picture of the same frame, a few bits from the whole frame's hash.
  innerHashes: hashes.map((h) => flipBits(h, rint(4, 12))),
  innerQuality: new Float32Array(hashes.length).fill(20),
  quality: new Float32Array(hashes.length).fill(20),
});
/** A 1 fps walk with P samples per second: the phases between two seconds drift 0-1 bits a step. */
function phased(seconds) {
  const out = new BigUint64Array(seconds.length * phases);
  seconds.forEach((h, i) => {
    out[i * phases] = h;
    for (let j = 1; j < phases; j++) out[i * phases + j] = flipBits(out[i * phases + j - 1], rint(0, 1));
  });
  return out;
}

// Benchmark side.
const bench = [];
let windows = 0;
while (windows < targetWindows) {
  const len = rint(60, 300);
  bench.push(fingerprint(phased(walk(len)), phases));
  windows += len - 19;
}
const benchSeconds = bench.reduce((sum, fp) => sum + fp.hashes.length / phases, 0);
// Memory of the benchmark side: resident size before and after the build (run with --expose-gc for a
// cleaner figure; npm run bench does).
globalThis.gc?.();
const rssBefore = process.memoryUsage().rss;
let t0 = performance.now();
const matcher = new BenchMatcher(bench, { preset, exact: false, prefilter });
const buildMs = performance.now() - t0;
// What the side holds once the build's transient arrays are gone: V8 frees the backing stores of
// dead typed arrays after a collection that follows their release, so collect, yield, collect.
globalThis.gc?.();
await new Promise((resolve) => setTimeout(resolve, 100));
globalThis.gc?.();
const buildBytes = process.memoryUsage().rss - rssBefore;
console.error(`bench: ${bench.length} videos, ${windows} windows (${matcher.windows} held incl. center-crop windows), ${matcher.retrieval} built in ${(buildMs / 1000).toFixed(1)} s, ${(buildBytes / 2 ** 20).toFixed(0)} MiB held (RSS growth), ${(matcher.heapBytes / 2 ** 20).toFixed(0)} MiB in Rust (${(matcher.prefilterBytes / 2 ** 20).toFixed(0)} MiB of it the prefilter's tables)`);
// The reference: every alignment compared (built after the memory figure above).
// --reference scan: the exhaustive frame scan instead (the exact path's segments, tested; minutes
// faster per query with slanted alignments at 1M windows), e.g. to measure the prefilter.
const reference = argText('reference', 'exact');
const exactMatcher = new BenchMatcher(bench, reference === 'scan' ? { preset, exact: false, prefilter: 'off' } : { preset, exact: true, prefilter: 'off' });

// Training side: half carry a planted copy of a random bench segment.
const train = [];
for (let q = 0; q < queries; q++) {
  const hashes = walk(querySeconds);
  let source = -1;
  if (q % 2 === 0) {
    source = rint(0, bench.length - 1);
    const b = bench[source].hashes;
    const seconds = b.length / phases;
    const len = Math.min(seconds, rint(20, 60));
    const from = rint(0, seconds - len);
    const phase = rint(0, phases - 1);
    const at = rint(0, hashes.length - len);
    for (let i = 0; i < len; i++) hashes[at + i] = flipBits(b[(from + i) * phases + phase], rint(0, 12));
  }
  train.push({ fp: fingerprint(hashes), source });
}
const exactMs = [];
const exactSets = [];
// Each query's exact segments, order-free, to check the frame scan returns exactly them.
const exactSegments = [];
const canonical = (segments) => JSON.stringify(segments.map((x) => JSON.stringify(x)).sort());
const exactQueries = withExact ? Math.min(train.length, arg('exact-queries', train.length)) : 0;
for (const t of train.slice(0, exactQueries)) {
  t0 = performance.now();
  // Per matched bench video, the closest segment's mean distance over its matching frames.
  const best = new Map();
  const segments = await exactMatcher.match(t.fp);
  for (const seg of segments) {
    best.set(seg.benchVideo, Math.min(best.get(seg.benchVideo) ?? 64, seg.meanDistance));
  }
  exactSets.push(best);
  exactSegments.push(canonical(segments));
  exactMs.push(performance.now() - t0);
}
const pctl = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
// Settings to compare: the command line's; with --sweep (hnsw) a few top-K / radius settings on
// one index build; with --kernels (scan) the fallback loops, each a rebuilt scan.
const fallbacks = ['avx512', 'avx2', 'portable'].filter((k) => k !== matcher.scanKernel);
const settings =
  retrieval === 'scan'
    ? [{}, ...(process.argv.includes('--kernels') ? fallbacks.map((kernel) => ({ kernel })) : [])]
    : !process.argv.includes('--sweep')
      ? [{}]
      : [{ topK: 10, candidateRadius: 0 }, { topK: 10, candidateRadius: 40 }, { topK: 32, candidateRadius: 80 }];
const results = [];
for (const setting of settings) {
  let m = matcher;
  if (setting.kernel !== undefined) {
    // A loop the CPU cannot run (avx512 on an AVX2 machine) is refused: skip it.
    try {
      m = new BenchMatcher(bench, { preset, exact: false, prefilter, kernel: setting.kernel });
    } catch (e) {
      console.error(`kernel ${setting.kernel}: ${e.message}`);
      continue;
    }
  } else if (preset.hnsw !== undefined) Object.assign(preset.hnsw, setting);
  let identical = 0;
  let exactPairs = 0;
  let bothPairs = 0;
  let plantedFound = 0;
  let planted = 0;
  // Exact-path pairs other than the planted copy: chance coincidences of unrelated sequences.
  const chance = { pairs: 0, found: 0, meanDistances: [] };
  const matchMs = [];
  for (let q = 0; q < train.length; q++) {
    t0 = performance.now();
    const segments = await m.match(train[q].fp);
    matchMs.push(performance.now() - t0);
    const i = new Set(segments.map((s) => s.benchVideo));
    if (q >= exactQueries) {
      if (train[q].source >= 0) {
        planted++;
        if (i.has(train[q].source)) plantedFound++;
      }
      continue;
    }
    if (canonical(segments) === exactSegments[q]) identical++;
    const e = exactSets[q];
    exactPairs += e.size;
    for (const [v, meanDistance] of e) {
      if (i.has(v)) bothPairs++;
      if (v !== train[q].source) {
        chance.pairs++;
        if (i.has(v)) chance.found++;
        chance.meanDistances.push(meanDistance);
      }
    }
    if (train[q].source >= 0) {
      planted++;
      if (i.has(train[q].source)) plantedFound++;
    }
  }
  const r = {
    ...(retrieval === 'scan' ? { kernel: m.scanKernel, retrieval: m.retrieval } : { ...preset.hnsw }),
    // Queries whose segments equal the exact path's, every field.
    identicalToExact: exactQueries > 0 ? `${identical}/${exactQueries}` : null,
    recallVsExact: Number((exactPairs === 0 ? 1 : bothPairs / exactPairs).toFixed(4)),
    exactMatchedPairs: exactPairs,
    plantedRecall: plantedFound / planted,
    chancePairs: chance.pairs,
    chancePairsFound: chance.found,
    chanceMeanDistanceP50: chance.pairs === 0 ? null : Number(pctl(chance.meanDistances, 0.5).toFixed(1)),
    matchMsP50: Number(pctl(matchMs, 0.5).toFixed(1)),
    matchMsP99: Number(pctl(matchMs, 0.99).toFixed(1)),
  };
  results.push(r);
  console.error(JSON.stringify(r));
}
console.log(JSON.stringify({
  retrieval: matcher.retrieval,
  phases,
  querySeconds,
  benchVideos: bench.length,
  benchWindows: windows,
  windowsHeld: matcher.windows,
  buildSeconds: Number((buildMs / 1000).toFixed(2)),
  buildBytes,
  heapBytes: matcher.heapBytes,
  indexBytes: matcher.prefilterBytes,
  bytesPerWindow: Math.round(buildBytes / windows),
  // A video of L seconds holds L - 19 windows: per benchmark second, what the Rust side holds.
  benchSeconds: benchSeconds,
  rustBytesPerSecond: Number((matcher.heapBytes / benchSeconds).toFixed(1)),
  queries,
  rule: preset.rule,
  exactMatchMsP50: withExact ? Number(pctl(exactMs, 0.5).toFixed(1)) : null,
  exactMatchMsP99: withExact ? Number(pctl(exactMs, 0.99).toFixed(1)) : null,
  results,
}, null, 2));
