#!/usr/bin/env node
// Evidence for the copies a preset missed (bench/out/eval.json): each missed copy against its
// original along the TRUE alignment (truth.json: where the copy sits in the training video, where
// it comes from in the original, its speed), the original at the preset's phases. Per training
// frame inside the copy: the distance to the benchmark sample nearest the time it shows (plain,
// mirrored, center-crop or inner-half hashes, whichever is closest, as the preset compares them)
// and whether both frames are informative (quality gate; the inner half's own for inner-half pairs). Then the best 20-frame window (or the whole copy when
// shorter) by close frames, and a histogram of distances: what a rule would need to accept it.
//   node bench/eval/missed.mjs [default|paper] [--all]   -> bench/out/missed-<preset>.json
//   (--all: every copy, not only the missed ones; for calibrating a rule on the tuning half)
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { PRESETS } = await import(path.join(root, 'dist/scan/presets.js'));
const { FingerprintStore } = await import(path.join(root, 'dist/fingerprint/store.js'));
const { fingerprintCached } = await import(path.join(root, 'dist/fingerprint/cached.js'));
const evalDir = process.env.VDEDUP_EVAL_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'eval');
const store = new FingerprintStore(path.join(evalDir, '..', 'eval-cache'));
const truth = JSON.parse(readFileSync(path.join(evalDir, 'truth.json'), 'utf8'));
const presetName = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'default';
const all = process.argv.includes('--all');
const preset = PRESETS[presetName];
const rule = preset.rule;
const phases = preset.benchPhases;

const pop = (x) => {
  let n = 0;
  for (; x; x &= x - 1n) n++;
  return n;
};
let ids;
if (all) ids = Object.keys(truth.train).filter((id) => truth.train[id].kind === 'copy');
else {
  const evalOut = JSON.parse(readFileSync(path.join(root, 'bench', 'out', 'eval.json'), 'utf8'));
  const missed = new Set();
  for (const r of evalOut.results.filter((r) => r.preset === presetName && !r.exact)) for (const f of r.families) for (const h of ['tuning', 'heldout']) for (const id of f[h].missed) missed.add(id);
  ids = [...missed];
}

const out = [];
for (const id of ids.sort()) {
  const t = truth.train[id];
  const tf = (await fingerprintCached(path.join(evalDir, 'train', id), store, { threads: 0, fps: 1 })).fingerprint;
  const bf = (await fingerprintCached(path.join(evalDir, 'bench', `${t.original}.mp4`), store, { threads: 0, fps: phases })).fingerprint;
  const th = preset.trimBorders ? tf.hashes : tf.rawHashes;
  const bh = preset.trimBorders ? bf.hashes : bf.rawHashes;
  const frames = [];
  for (let i = Math.ceil(t.trainStart); i < t.trainEnd && i < th.length; i++) {
    const benchTime = t.origStart + (i - t.trainStart) * t.speed;
    const k = Math.round(benchTime * phases);
    if (k < 0 || k >= bh.length) continue;
    let d = pop(th[i] ^ bh[k]);
    let variant = 'direct';
    if (preset.matchFlips && pop(tf.flips[i] ^ bh[k]) < d) [d, variant] = [pop(tf.flips[i] ^ bh[k]), 'flipped'];
    if (preset.matchCrops && pop(th[i] ^ bf.centerHashes[k]) < d) [d, variant] = [pop(th[i] ^ bf.centerHashes[k]), 'cropped'];
    let informative = tf.quality[i] >= preset.minQuality && bf.quality[k] >= preset.minQuality;
    const innerInformative = tf.innerQuality[i] >= preset.minQuality && bf.innerQuality[k] >= preset.minQuality;
    // The inner half of both frames (its own quality gate), where it is closer.
    if (preset.matchInner && innerInformative && pop(tf.innerHashes[i] ^ bf.innerHashes[k]) < d) {
      [d, variant, informative] = [pop(tf.innerHashes[i] ^ bf.innerHashes[k]), 'inner', true];
    }
    frames.push({ train: i, bench: +(k / phases).toFixed(2), d, variant, informative, hash: bh[k] });
  }
  const w = Math.min(rule.window, frames.length);
  let best = null;
  for (let s = 0; s + w <= frames.length; s++) {
    const win = frames.slice(s, s + w);
    const close = win.filter((f) => f.informative && f.d <= rule.maxDistance).length;
    if (best === null || close > best.close) {
      // The window's other conditions (matching.rs): informative share, distinct evidence (matching
      // bench frames more than distinctBits apart from the last counted one), mean distance.
      const matching = win.filter((f) => f.informative && f.d <= rule.maxDistance);
      let distinct = 0;
      let last = null;
      for (const f of matching) if (last === null || pop(last ^ f.hash) > (rule.distinctBits ?? 0)) [distinct, last] = [distinct + 1, f.hash];
      const mean = matching.length ? matching.reduce((a, f) => a + f.d, 0) / matching.length : null;
      best = {
        close,
        start: win[0].train,
        informative: win.filter((f) => f.informative).length,
        distinct,
        mean: mean === null ? null : +mean.toFixed(1),
        distances: win.map((f) => (f.informative ? f.d : `(${f.d})`)),
      };
    }
  }
  const hist = {};
  for (const f of frames) hist[f.d] = (hist[f.d] ?? 0) + 1;
  const half = truth.originals[t.original]?.half;
  for (const f of frames) delete f.hash;
  out.push({ id, half, copySeconds: +(t.trainEnd - t.trainStart).toFixed(2), speed: t.speed, window: w, needed: Math.ceil(rule.minFraction * w - 1e-9), best, frames });
  console.log(
    `${id} [${half}] ${frames.length} frames; best ${w}-frame window ${best?.close ?? 0} close, ${best?.informative} informative, ` +
      `${best?.distinct} distinct, mean ${best?.mean}: ${best?.distances.join(' ') ?? '-'}`,
  );
}
writeFileSync(path.join(root, 'bench', 'out', `missed-${presetName}${all ? '-all' : ''}.json`), `${JSON.stringify(out, null, 1)}\n`);
