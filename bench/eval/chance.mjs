#!/usr/bin/env node
// Chance window matches: how often do UNRELATED real windows match under each preset's rule?
// Every unrelated (training video, benchmark video) pair the evaluation set gives is compared at
// every alignment through the engine's exact path (a BenchMatcher built with exact: true; the same
// code as `vdedup scan --exact`), the benchmark side at the preset's phases:
//   - every hard negative against every benchmark original,
//   - every benchmark original against every other original,
//   - every planted copy against every original other than its own (its filler holds no original),
//   - long unrelated footage made for this count (chance/ in the eval folder: whole game-music tracks
//     that no original uses, through three visualizers, and a long waveform clip) against every original.
// Fingerprints are read through the same store as bench/eval/run.mjs (decoded there first if missing).
// Counted: aligned window pairs compared (a training window against a benchmark window at one
// alignment; windows of 20 frames, or as long as a shorter benchmark video where the preset allows
// it), and how many of them match. Matching windows are counted one by one: in every pair with a match,
// each training window is re-run alone through the same exact path.
//   node bench/eval/chance.mjs        -> bench/out/chance.json
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { PRESETS } = await import(path.join(root, 'dist/scan/presets.js'));
const { BenchMatcher } = await import(path.join(root, 'dist/scan/matcher.js'));
const { FingerprintStore } = await import(path.join(root, 'dist/fingerprint/store.js'));
const { fingerprintCached } = await import(path.join(root, 'dist/fingerprint/cached.js'));

const evalDir = process.env.VDEDUP_EVAL_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'eval');
const store = new FingerprintStore(path.join(evalDir, '..', 'eval-cache'));
const truth = JSON.parse(readFileSync(path.join(evalDir, 'truth.json'), 'utf8'));
const started = Date.now();

// Training sides at 1 fps; benchmark videos at each preset's phases (fpAt), as a scan takes them.
const fps = new Map();
async function fpAt(file, rate) {
  const key = `${rate}:${file}`;
  let f = fps.get(key);
  if (f === undefined) {
    f = (await fingerprintCached(file, store, { threads: 0, fps: rate })).fingerprint;
    fps.set(key, f);
  }
  return f;
}
const fp = (file) => fpAt(file, 1);
const benchNames = readdirSync(path.join(evalDir, 'bench')).filter((f) => f.endsWith('.mp4')).sort();
const trainNames = readdirSync(path.join(evalDir, 'train')).filter((f) => !f.includes('.part')).sort();
const bench = [];
for (const b of benchNames) bench.push({ name: b.replace(/\.mp4$/, ''), file: path.join(evalDir, 'bench', b), fp: await fp(path.join(evalDir, 'bench', b)) });
// Training side: [label, group, fingerprint, the original it must not be compared with]
const sides = [];
for (const t of trainNames) {
  const info = truth.train[t];
  if (info === undefined) continue;
  sides.push({ label: t, group: info.kind === 'copy' ? 'copy-vs-other-original' : 'negative', fp: await fp(path.join(evalDir, 'train', t)), own: info.original });
}
for (const b of bench) sides.push({ label: `bench/${b.name}.mp4`, group: 'original-vs-other-original', fp: b.fp, own: b.name });
// Long unrelated footage made for this count only (build.py: whole game-music tracks no original uses, through three visualizers; the whole soundwave clip).
let chanceNames = [];
try {
  chanceNames = readdirSync(path.join(evalDir, 'chance')).filter((f) => f.endsWith('.mp4') && !f.includes('.part')).sort();
} catch {
  // No chance/ folder (an evaluation set built without it): only the evaluation's own pairs count.
}
for (const c of chanceNames) sides.push({ label: `chance/${c}`, group: 'long-unrelated-footage', fp: await fp(path.join(evalDir, 'chance', c)), own: undefined });

const slice = (f, s, n) => ({
  hashes: f.hashes.subarray(s, s + n),
  rawHashes: f.rawHashes.subarray(s, s + n),
  flips: f.flips.subarray(s, s + n),
  centerHashes: f.centerHashes.subarray(s, s + n),
  innerHashes: f.innerHashes.subarray(s, s + n),
  innerQuality: f.innerQuality.subarray(s, s + n),
  quality: f.quality.subarray(s, s + n),
});

// --only default|paper: one preset; --rule '{"shortWindow":10}' is merged into the default preset's rule
// (to measure a candidate rule before it becomes the default).
const argAfter = (flag) => (process.argv.includes(flag) ? process.argv[process.argv.indexOf(flag) + 1] : undefined);
const ruleOverride = argAfter('--rule') === undefined ? undefined : JSON.parse(argAfter('--rule'));
const results = [];
for (const presetName of ['default', 'paper'].filter((p) => argAfter('--only') === undefined || argAfter('--only') === p)) {
  const preset = presetName === 'default' && ruleOverride ? { ...PRESETS.default, rule: { ...PRESETS.default.rule, ...ruleOverride } } : PRESETS[presetName];
  const rule = preset.rule;
  // The speeds of slanted alignments (none: straight only), as crates/core MatchParams::speeds.
  const speeds = [];
  if ((rule.speedRange ?? 0) > 0) {
    const k = Math.floor(rule.speedRange / rule.speedStep + 1e-9);
    for (let j = -k; j <= k; j++) if (j !== 0) speeds.push(1 + j * rule.speedStep);
  }
  const byGroup = {};
  const matchedPairs = [];
  for (const b of bench) {
    // The benchmark side as the preset samples it: its phases, each a 1 fps sequence of nB frames.
    const phases = preset.benchPhases;
    const benchFp = await fpAt(b.file, phases);
    const nB = b.fp.hashes.length;
    // The window at this benchmark video: the rule's, or as long as a shorter video (if the preset allows it).
    const w = nB >= rule.window ? rule.window : rule.minWindow > 0 && nB >= rule.minWindow ? nB : 0;
    const matcher = new BenchMatcher([benchFp], { preset, exact: true, prefilter: 'off' });
    for (const t of sides) {
      if (t.own === b.name) continue;
      const g = (byGroup[t.group] ??= { pairs: 0, windowPairs: 0, slantedWindowPairs: 0, matchingWindowPairs: 0, matchedVideoPairs: 0 });
      g.pairs++;
      const nT = t.fp.hashes.length;
      if (w === 0 || nT < w) continue;
      g.windowPairs += (nT - w + 1) * (nB - w + 1) * phases;
      // Slanted alignments (a preset with speeds): per speed, speedIntercepts lines per benchmark
      // sample, a training window on each that stays within the benchmark video.
      for (const sp of speeds) g.slantedWindowPairs += (nT - w + 1) * Math.max(0, Math.floor(nB * phases - phases * sp * (w - 1))) * rule.speedIntercepts;
      const segments = await matcher.match(t.fp);
      if (segments.length === 0) continue;
      // Count matching windows one by one: every training window of a pair that matched, alone, through the same
      // exact path, at every benchmark alignment (segments merge windows, possibly across alignments).
      const hits = new Set();
      for (let s = 0; s <= nT - w; s++) {
        for (const one of await matcher.match(slice(t.fp, s, w))) hits.add(`${s}:${one.speed}:${one.offset}:${one.benchStart}:${one.benchPhase}`);
      }
      g.matchingWindowPairs += hits.size;
      g.matchedVideoPairs++;
      const best = segments.reduce((a, c) => (c.matchedFrames > a.matchedFrames || (c.matchedFrames === a.matchedFrames && c.meanDistance < a.meanDistance) ? c : a));
      matchedPairs.push({
        train: t.label,
        bench: b.name,
        group: t.group,
        matchingWindows: hits.size,
        segments: segments.length,
        best: { trainStart: best.trainStart, benchStart: best.benchStart / best.benchPerSecond + best.benchPhase, matchedFrames: best.matchedFrames, windowFrames: best.windowFrames, meanDistance: Math.round(best.meanDistance * 10) / 10, speed: best.speed, flipped: best.flipped, cropped: best.cropped },
      });
    }
  }
  const total = Object.values(byGroup).reduce(
    (a, g) => ({ pairs: a.pairs + g.pairs, windowPairs: a.windowPairs + g.windowPairs, slantedWindowPairs: a.slantedWindowPairs + g.slantedWindowPairs, matchingWindowPairs: a.matchingWindowPairs + g.matchingWindowPairs, matchedVideoPairs: a.matchedVideoPairs + g.matchedVideoPairs }),
    { pairs: 0, windowPairs: 0, slantedWindowPairs: 0, matchingWindowPairs: 0, matchedVideoPairs: 0 },
  );
  results.push({ preset: presetName, rule, total, byGroup, matchedPairs });
  const rate = total.windowPairs ? total.matchingWindowPairs / total.windowPairs : 0;
  console.log(`\npreset ${presetName}: ${total.windowPairs.toLocaleString('en')} aligned window pairs compared over ${total.pairs} unrelated video pairs` +
    `${total.slantedWindowPairs ? ` (and ${total.slantedWindowPairs.toLocaleString('en')} along slanted alignments)` : ''}; ` +
    `${total.matchingWindowPairs} matching windows (${rate.toExponential(2)} per window pair) in ${total.matchedVideoPairs} video pairs`);
  for (const [k, g] of Object.entries(byGroup)) console.log(`  ${k.padEnd(28)} ${g.pairs} video pairs, ${g.windowPairs.toLocaleString('en')} window pairs, ${g.matchingWindowPairs} matching windows, ${g.matchedVideoPairs} matched video pairs`);
  for (const m of matchedPairs.slice(0, 40)) console.log(`    ${m.train} ~ ${m.bench}: ${m.matchingWindows} windows, best ${m.best.matchedFrames}/${m.best.windowFrames} frames, mean ${m.best.meanDistance} bits, speed ${m.best.speed}`);
  if (matchedPairs.length > 40) console.log(`    ... ${matchedPairs.length - 40} more in bench/out/chance.json`);
}
mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
writeFileSync(path.join(root, 'bench', 'out', argAfter('--out') ?? 'chance.json'), `${JSON.stringify({ date: new Date().toISOString(), evalDir, ruleOverride: ruleOverride ?? null, seconds: (Date.now() - started) / 1000, results }, null, 2)}\n`);
console.log(`\nfigures: bench/out/${argAfter('--out') ?? 'chance.json'} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
