#!/usr/bin/env node
// How large should the inner half be? For each candidate share of each dimension (the central
// C x C of a frame's content after border trimming), every video of the evaluation set is hashed on
// that region alone (training videos at 1 fps, originals at 4 phases), and the region's hashes are
// matched ALONE (no whole-frame hashes) under the default preset's rule and quality gate, through
// the same frame scan as a scan. Reported per crop: copies found per half, and every match between
// unrelated videos (hard negatives, copies against other originals, originals against each other,
// the long chance/ footage). The default preset's INNER_CROP was chosen by the tuning half's
// whole-frame misses it finds, then by the fewest unrelated matches.
//   node bench/eval/inner-crop.mjs [0.5,0.6,0.7]   (hashes cached in ~/.cache/vdedup/inner-crop)
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { native } = await import(path.join(root, 'dist/native/binding.js'));
const { sampleGrayFrames, SAMPLE_SIZE } = await import(path.join(root, 'dist/media/sample.js'));
const { DEFAULT } = await import(path.join(root, 'dist/scan/presets.js'));
const binding = native();
const evalDir = process.env.VDEDUP_EVAL_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'eval');
const cacheDir = path.join(os.homedir(), '.cache', 'vdedup', 'inner-crop');
mkdirSync(cacheDir, { recursive: true });
const crops = (process.argv[2] ?? '0.5,0.6,0.7').split(',').map(Number);
const truth = JSON.parse(readFileSync(path.join(evalDir, 'truth.json'), 'utf8'));
const PHASES = DEFAULT.benchPhases;

/** Per crop: the region's hashes (hex) and quality of every sample of `file` at `fps`. */
async function regionHashes(file, fps) {
  const cached = path.join(cacheDir, `${path.basename(file)}-${fps}-${crops.join('_')}.json`);
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8'));
  const out = Object.fromEntries(crops.map((c) => [c, { h: [], q: [] }]));
  const frames = sampleGrayFrames({ absolutePath: file, file, streamIndex: 'first', fps, width: SAMPLE_SIZE, height: SAMPLE_SIZE, threads: 1 });
  for (;;) {
    const next = await frames.next();
    if (next.done) break;
    for (const c of crops) {
      const r = await binding.hashFrames(next.value.frames, SAMPLE_SIZE, SAMPLE_SIZE, { trimBorders: true, centerCrop: c });
      for (const h of r.hashes) out[c].h.push(h.toString(16));
      out[c].q.push(...r.quality);
    }
  }
  writeFileSync(cached, JSON.stringify(out));
  return out;
}

const originals = readdirSync(path.join(evalDir, 'bench')).filter((f) => f.endsWith('.mp4')).sort();
const trains = readdirSync(path.join(evalDir, 'train')).filter((f) => !f.includes('.part') && truth.train[f] !== undefined).sort();
const chance = readdirSync(path.join(evalDir, 'chance')).filter((f) => f.endsWith('.mp4') && !f.includes('.part')).sort();
const benchHashes = [];
for (const o of originals) benchHashes.push(await regionHashes(path.join(evalDir, 'bench', o), PHASES));
// Training sides: [label, region hashes, its own original (never counted as unrelated)]
const sides = [];
const pending = [
  ...trains.map((t) => [t, path.join(evalDir, 'train', t), truth.train[t].original]),
  ...chance.map((c) => [`chance/${c}`, path.join(evalDir, 'chance', c), undefined]),
];
await Promise.all(
  [0, 1].map(async () => {
    while (pending.length > 0) {
      const [label, file, own] = pending.shift();
      sides.push([label, await regionHashes(file, 1), own]);
    }
  }),
);
// Originals against each other, at 1 fps (their phase 0).
originals.forEach((o, g) => {
  const every = (xs) => xs.filter((_, i) => i % PHASES === 0);
  const r = Object.fromEntries(crops.map((c) => [c, { h: every(benchHashes[g][c].h), q: every(benchHashes[g][c].q) }]));
  sides.push([`bench/${o}`, r, o.replace(/\.mp4$/, '')]);
});

const rule = DEFAULT.rule;
const flags = (q) => Uint8Array.from(q, (x) => (x >= DEFAULT.minQuality ? 1 : 0));
const column = (h) => BigUint64Array.from(h, (x) => BigInt(`0x${x}`));
const results = [];
for (const c of crops) {
  // The originals' region hashes as the benchmark side: each phase a sequence, grouped by video.
  const [hashes, quality, lengths, groups] = [[], [], [], []];
  originals.forEach((_, g) => {
    const { h, q } = benchHashes[g][c];
    for (let p = 0; p < PHASES; p++) {
      const idx = [...h.keys()].filter((i) => i % PHASES === p);
      hashes.push(...idx.map((i) => h[i]));
      quality.push(...idx.map((i) => q[i]));
      lengths.push(idx.length);
      groups.push(g);
    }
  });
  const scan = new binding.BenchFrameScan({ hashes: column(hashes), informative: flags(quality), lengths: Uint32Array.from(lengths), groups: Uint32Array.from(groups) });
  const found = { tuning: [], heldout: [] };
  const copies = { tuning: 0, heldout: 0 };
  const unrelated = [];
  for (const [label, region, own] of sides) {
    const segments = await scan.matchVideo({ hashes: column(region[c].h), informative: flags(region[c].q) }, rule);
    const t = truth.train[label];
    if (t?.kind === 'copy') {
      const half = truth.originals[t.original].half;
      copies[half]++;
      if (segments.some((s) => originals[groups[s.benchVideo]] === `${t.original}.mp4`)) found[half].push(label);
    }
    for (const s of segments) {
      const orig = originals[groups[s.benchVideo]].replace(/\.mp4$/, '');
      if (orig !== own) unrelated.push(`${label} ~ ${orig}: ${s.matchedFrames}/${s.windowFrames} frames, mean ${s.meanDistance.toFixed(1)}`);
    }
  }
  results.push({ crop: c, copies, found, unrelated });
  console.log(`inner crop ${c}: copies found tuning ${found.tuning.length}/${copies.tuning}, held-out ${found.heldout.length}/${copies.heldout}; ${unrelated.length} unrelated segments`);
  for (const u of unrelated) console.log(`  ${u}`);
}
mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
writeFileSync(path.join(root, 'bench', 'out', 'inner-crop.json'), `${JSON.stringify({ date: new Date().toISOString(), evalDir, results }, null, 2)}\n`);
console.log('figures: bench/out/inner-crop.json');
