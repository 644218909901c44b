#!/usr/bin/env node
// Window index recall against the exact path, on synthetic but real-looking hash sequences:
// scenes of 3-15 s in which each second's hash drifts by a few bits from the last, new random
// hashes at scene cuts. Planted copies carry 0-12 flipped bits per frame (re-encoding noise).
// Queries are 5-minute videos (issue 7's unit), half of them holding a planted 20-60 s copy.
//   node --expose-gc bench/index-recall.mjs [--windows 100000] [--queries 300] [--query-seconds 300]
//     [--retrieval hash|hnsw] [--probe-radius 1] [--min-votes 2] [--whole-videos 0|1]
//     [--topk 10] [--radius 40] [--sweep]
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { BenchMatcher } = await import(path.join(root, 'dist/decontam/matcher.js'));
const { DEFAULT } = await import(path.join(root, 'dist/decontam/presets.js'));
const argText = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const arg = (name, def) => Number(argText(name, def));
const targetWindows = arg('windows', 100_000);
const queries = arg('queries', 300);
const querySeconds = arg('query-seconds', 300);
const retrieval = argText('retrieval', DEFAULT.retrieval);
if (retrieval !== 'hash' && retrieval !== 'hnsw') throw new Error(`--retrieval must be hash or hnsw, got ${retrieval}`);
const preset = {
  ...DEFAULT,
  retrieval,
  probeRadius: arg('probe-radius', DEFAULT.probeRadius),
  minVotes: arg('min-votes', DEFAULT.minVotes),
  verifyWholeVideos: arg('whole-videos', DEFAULT.verifyWholeVideos ? 1 : 0) === 1,
  topK: arg('topk', DEFAULT.topK),
  candidateRadius: arg('radius', DEFAULT.candidateRadius),
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
const fingerprint = (hashes) => ({
  hashes,
  rawHashes: hashes,
  flips: walk(hashes.length),
  centerHashes: hashes.map((h) => flipBits(h, rint(2, 8))),
  quality: new Float32Array(hashes.length).fill(20),
});

// Benchmark side.
const bench = [];
let windows = 0;
while (windows < targetWindows) {
  const len = rint(60, 300);
  bench.push(fingerprint(walk(len)));
  windows += len - 19;
}
// Memory of the index: resident size before and after the build (run with --expose-gc for a
// cleaner figure; npm run bench does).
globalThis.gc?.();
const rssBefore = process.memoryUsage().rss;
let t0 = performance.now();
const matcher = new BenchMatcher(bench, preset);
const buildMs = performance.now() - t0;
globalThis.gc?.();
const indexBytes = process.memoryUsage().rss - rssBefore;
console.error(`bench: ${bench.length} videos, ${windows} windows (${matcher.indexedWindows} indexed incl. center-crop windows), ${retrieval} index built in ${(buildMs / 1000).toFixed(1)} s, ${(indexBytes / 2 ** 20).toFixed(0)} MiB`);

// Training side: half carry a planted copy of a random bench segment.
const train = [];
for (let q = 0; q < queries; q++) {
  const hashes = walk(querySeconds);
  let source = -1;
  if (q % 2 === 0) {
    source = rint(0, bench.length - 1);
    const b = bench[source].hashes;
    const len = Math.min(b.length, rint(20, 60));
    const from = rint(0, b.length - len);
    const at = rint(0, hashes.length - len);
    for (let i = 0; i < len; i++) hashes[at + i] = flipBits(b[from + i], rint(0, 12));
  }
  train.push({ fp: fingerprint(hashes), source });
}
const exactMs = [];
const exactSets = [];
for (const t of train) {
  t0 = performance.now();
  // Per matched bench video, the closest segment's mean distance over its matching frames.
  const best = new Map();
  for (const seg of await matcher.match(t.fp, { exact: true })) {
    best.set(seg.benchVideo, Math.min(best.get(seg.benchVideo) ?? 64, seg.meanDistance));
  }
  exactSets.push(best);
  exactMs.push(performance.now() - t0);
}
const pctl = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
// Candidate settings to compare (one index build): the command line's, or a small sweep.
const settings = !process.argv.includes('--sweep')
  ? [{}]
  : retrieval === 'hash'
    ? [
        { probeRadius: 0, minVotes: 1, verifyWholeVideos: false },
        { probeRadius: 1, minVotes: 1, verifyWholeVideos: false },
        { probeRadius: 1, minVotes: 2, verifyWholeVideos: false },
        { probeRadius: 2, minVotes: 1, verifyWholeVideos: false },
        { probeRadius: 2, minVotes: 2, verifyWholeVideos: false },
        { probeRadius: 1, minVotes: 2, verifyWholeVideos: true },
      ]
    : [{ topK: 10, candidateRadius: 0 }, { topK: 10, candidateRadius: 40 }, { topK: 32, candidateRadius: 80 }];
const results = [];
for (const setting of settings) {
  Object.assign(preset, setting);
  let exactPairs = 0;
  let bothPairs = 0;
  let plantedFound = 0;
  let planted = 0;
  // Exact-path pairs other than the planted copy: chance coincidences of unrelated sequences.
  const chance = { pairs: 0, found: 0, meanDistances: [] };
  const indexMs = [];
  for (let q = 0; q < train.length; q++) {
    t0 = performance.now();
    const i = new Set((await matcher.match(train[q].fp)).map((s) => s.benchVideo));
    indexMs.push(performance.now() - t0);
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
    ...(retrieval === 'hash' ? { probeRadius: preset.probeRadius, minVotes: preset.minVotes, verifyWholeVideos: preset.verifyWholeVideos } : { topK: preset.topK, candidateRadius: preset.candidateRadius }),
    recallVsExact: Number((exactPairs === 0 ? 1 : bothPairs / exactPairs).toFixed(4)),
    exactMatchedPairs: exactPairs,
    plantedRecall: plantedFound / planted,
    chancePairs: chance.pairs,
    chancePairsFound: chance.found,
    chanceMeanDistanceP50: chance.pairs === 0 ? null : Number(pctl(chance.meanDistances, 0.5).toFixed(1)),
    indexMatchMsP50: Number(pctl(indexMs, 0.5).toFixed(1)),
    indexMatchMsP99: Number(pctl(indexMs, 0.99).toFixed(1)),
  };
  results.push(r);
  console.error(JSON.stringify(r));
}
console.log(JSON.stringify({
  retrieval,
  querySeconds,
  benchVideos: bench.length,
  benchWindows: windows,
  indexedWindows: matcher.indexedWindows,
  indexBuildSeconds: Number((buildMs / 1000).toFixed(2)),
  indexBytes,
  indexHeapBytes: matcher.indexBytes,
  bytesPerWindow: Math.round(indexBytes / windows),
  queries,
  exactMatchMsP50: Number(pctl(exactMs, 0.5).toFixed(1)),
  exactMatchMsP99: Number(pctl(exactMs, 0.99).toFixed(1)),
  results,
}, null, 2));
