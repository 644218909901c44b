#!/usr/bin/env node
// Evidence for the copies a preset missed (bench/out/eval.json): for each missed copy, its
// fingerprints (same store as run.mjs) against its original's at every alignment, and the best
// window under the preset's frame threshold: how many frames of the window are within the
// threshold (plain, mirrored or center-crop hashes, whichever is closest per frame) and their mean
// distance. A window needs ceil(minFraction * window) such frames to match.
//   node bench/eval/missed.mjs [default|paper]   -> bench/out/missed-<preset>.json
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { PRESETS } = await import(path.join(root, 'dist/decontam/presets.js'));
const { FingerprintStore } = await import(path.join(root, 'dist/fingerprint/store.js'));
const { fingerprintCached } = await import(path.join(root, 'dist/fingerprint/cached.js'));
const evalDir = process.env.VDEDUP_EVAL_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'eval');
const store = new FingerprintStore(path.join(evalDir, '..', 'eval-cache'));
const truth = JSON.parse(readFileSync(path.join(evalDir, 'truth.json'), 'utf8'));
const evalOut = JSON.parse(readFileSync(path.join(root, 'bench', 'out', 'eval.json'), 'utf8'));
const presetName = process.argv[2] ?? 'default';
const preset = PRESETS[presetName];
const rule = preset.rule;

const pop = (x) => {
  let n = 0;
  for (; x; x &= x - 1n) n++;
  return n;
};
const missed = new Set();
for (const r of evalOut.results.filter((r) => r.preset === presetName)) for (const f of r.families) for (const h of ['tuning', 'heldout']) for (const id of f[h].missed) missed.add(id);

const out = [];
for (const id of [...missed].sort()) {
  const t = truth.train[id];
  const tf = (await fingerprintCached(path.join(evalDir, 'train', id), store)).fingerprint;
  const bf = (await fingerprintCached(path.join(evalDir, 'bench', `${t.original}.mp4`), store)).fingerprint;
  const th = preset.trimBorders ? tf.hashes : tf.rawHashes;
  const bh = preset.trimBorders ? bf.hashes : bf.rawHashes;
  const nT = th.length;
  const nB = bh.length;
  const w = Math.min(nB >= rule.window ? rule.window : rule.minWindow > 0 ? nB : rule.window, nT);
  let best = null;
  for (let off = -(nB - 1); off < nT; off++) {
    // train frame i aligned with bench frame i - off
    for (let s = Math.max(0, off); s + w <= nT && s - off + w <= nB; s++) {
      let close = 0;
      let sum = 0;
      const d = [];
      for (let i = s; i < s + w; i++) {
        const j = i - off;
        let dist = pop(th[i] ^ bh[j]);
        if (preset.matchFlips) dist = Math.min(dist, pop(tf.flips[i] ^ bh[j]));
        if (preset.matchCrops) dist = Math.min(dist, pop(th[i] ^ bf.centerHashes[j]));
        d.push(dist);
        sum += dist;
        if (dist <= rule.maxDistance) close++;
      }
      if (best === null || close > best.close || (close === best.close && sum < best.sum)) best = { close, sum, trainStart: s, benchStart: s - off, distances: d };
    }
  }
  const need = Math.ceil(rule.minFraction * w - 1e-9);
  const row = {
    id,
    original: t.original,
    family: t.family,
    half: truth.originals[t.original].half,
    trainFrames: nT,
    benchFrames: nB,
    window: w,
    needed: need,
    truth: { origStart: t.origStart, trainStart: t.trainStart, speed: t.speed },
    best: best && { matched: best.close, trainStart: best.trainStart, benchStart: best.benchStart, meanDistance: Math.round((best.sum / w) * 10) / 10, distances: best.distances },
  };
  out.push(row);
  console.log(`${id}: best window ${row.best?.matched ?? 0}/${w} frames within ${rule.maxDistance} bits (needs ${need}), mean ${row.best?.meanDistance} bits, train ${row.best?.trainStart}s ~ bench ${row.best?.benchStart}s; distances ${row.best?.distances.join(' ')}`);
}
writeFileSync(path.join(root, 'bench', 'out', `missed-${presetName}.json`), `${JSON.stringify(out, null, 2)}\n`);
