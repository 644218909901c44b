#!/usr/bin/env node
// Evaluation: recall per transformation family, for the tuning half and the held-out half of the
// benchmark originals separately, and false positives on the hard negatives, for both presets,
// through the same engine as `vdedup scan` (retrieval: the preset's frame scan or hnswlib; and the exact path).
//   bench/eval/build.sh && node bench/eval/run.mjs        (npm run eval does both)
// Ground truth is in the file names made by build.sh, and in truth.json beside them:
//   copy--<family>--<original>--<n>.*  must match bench/<original>.mp4 (and nothing else)
//   neg--<kind>--<name>.*              must match nothing
// truth.json also holds the tuning/held-out split of the originals (seeded, bench/eval/build.py).
// Figures: bench/out/eval.json (eval-fast-<train|all>.json with --fast).
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { runScan } = await import(path.join(root, 'dist/scan/engine.js'));
const { PRESETS } = await import(path.join(root, 'dist/scan/presets.js'));
const { FingerprintStore } = await import(path.join(root, 'dist/fingerprint/store.js'));

const evalDir = process.env.VDEDUP_EVAL_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'eval');
const store = new FingerprintStore(path.join(evalDir, '..', 'eval-cache'));
const truth = JSON.parse(readFileSync(path.join(evalDir, 'truth.json'), 'utf8'));
const halfOf = (original) => truth.originals[original]?.half ?? 'unknown';
const HALVES = ['tuning', 'heldout'];

function parse(id) {
  const [kind, a, b, n] = id.replace(/\.[a-z0-9]+$/, '').split('--');
  return kind === 'copy' ? { kind, family: a, source: b, n } : { kind, negKind: a, name: b };
}

// --fast train|all: decode with fewer decoder steps (the `--fast` of vdedup scan), to measure its recall cost.
const fastAt = process.argv.indexOf('--fast');
const fastDecode = fastAt >= 0 ? process.argv[fastAt + 1] : undefined;
if (fastDecode !== undefined && fastDecode !== 'train' && fastDecode !== 'all') throw new Error('--fast takes train or all');

// Tuning: --only default[:scan|:exact] restricts the runs; --rule '{"nearDistance":26}' is merged
// into the default preset's rule (choose on the tuning half; --out names the figures file).
const argAfter = (flag) => (process.argv.includes(flag) ? process.argv[process.argv.indexOf(flag) + 1] : undefined);
const only = argAfter('--only');
// --out: a name under bench/out, or a path of its own (its folder made before the run, not after it).
const outName = argAfter('--out') ?? (fastDecode === undefined ? 'eval.json' : `eval-fast-${fastDecode}.json`);
const outFile = path.resolve(root, 'bench', 'out', outName);
mkdirSync(path.dirname(outFile), { recursive: true });
const ruleOverride = argAfter('--rule') === undefined ? undefined : JSON.parse(argAfter('--rule'));
// --no-layouts: the default preset without active-region and strip matching (what it found before them).
const layouts = !process.argv.includes('--no-layouts');
const presetFor = (name) =>
  name === 'default' ? { ...PRESETS.default, matchLayouts: layouts, rule: { ...PRESETS.default.rule, ...(ruleOverride ?? {}) } } : PRESETS[name];
const runs = ['default', 'paper'].flatMap((presetName) => [false, true].map((exact) => ({ presetName, exact })));
const selected = runs.filter(({ presetName, exact }) => only === undefined || only === presetName || only === `${presetName}:${exact ? 'exact' : 'scan'}`);
if (selected.length === 0) throw new Error(`--only ${only}: expected default, paper, default:scan, default:exact, paper:scan or paper:exact`);

const pct = (f, n) => (n ? `${((100 * f) / n).toFixed(0)}%` : '-');
const results = [];
const t0 = Date.now();
for (const { presetName, exact } of selected) {
  {
    const started = Date.now();
    const report = await runScan({
      train: path.join(evalDir, 'train'),
      bench: path.join(evalDir, 'bench'),
      settings: { preset: presetFor(presetName), exact, prefilter: 'auto' },
      store,
      fastDecode,
    });
    const byTrain = new Map();
    for (const m of report.matches) {
      if (m.reason !== 'near-duplicate') continue;
      const list = byTrain.get(m.train) ?? [];
      list.push({ bench: m.bench.replace(/\.mp4$/, ''), m });
      byTrain.set(m.train, list);
    }
    // family -> half -> { copies, found, missed }
    const perFamily = new Map();
    const overall = Object.fromEntries(HALVES.map((h) => [h, { copies: 0, found: 0 }]));
    const falsePositives = []; // { train, bench, kind: 'negative' | 'wrong-original', trainStart, benchStart, matchedFrames, meanDistance }
    let negatives = 0;
    const fp = (train, h, kind) =>
      falsePositives.push({
        train,
        bench: h.bench,
        kind,
        trainStart: h.m.trainStart,
        trainEnd: h.m.trainEnd,
        benchStart: h.m.benchStart,
        benchEnd: h.m.benchEnd,
        matchedFrames: h.m.matchedFrames,
        windowFrames: h.m.windowFrames,
        meanDistance: h.m.meanDistance,
      });
    // Every training video of the set, matched or not.
    for (const id of readdirSync(path.join(evalDir, 'train')).sort()) {
      if (id.includes('.part')) continue;
      const t = parse(id);
      const hits = byTrain.get(id) ?? [];
      if (t.kind === 'copy') {
        const half = halfOf(t.source);
        const ok = hits.some((h) => h.bench === t.source);
        const fam = perFamily.get(t.family) ?? Object.fromEntries(HALVES.map((h) => [h, { copies: 0, found: 0, missed: [] }]));
        const row = fam[half];
        row.copies++;
        overall[half].copies++;
        if (ok) {
          row.found++;
          overall[half].found++;
        } else row.missed.push(id);
        perFamily.set(t.family, fam);
        for (const h of hits) if (h.bench !== t.source) fp(id, h, 'wrong-original');
      } else {
        negatives++;
        for (const h of hits) fp(id, h, 'negative');
      }
    }
    const families = [...perFamily.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([family, halves]) => ({
        family,
        ...Object.fromEntries(HALVES.map((h) => [h, { ...halves[h], recall: halves[h].copies ? halves[h].found / halves[h].copies : null }])),
      }));
    const negFp = falsePositives.filter((f) => f.kind === 'negative');
    const negPairs = new Set(negFp.map((f) => `${f.train} ~ ${f.bench}`));
    const negVideos = new Set(negFp.map((f) => f.train));
    const mode = exact ? 'exact' : PRESETS[presetName].retrieval;
    const wall = (Date.now() - started) / 1000;
    results.push({
      preset: presetName,
      exact,
      mode,
      families,
      overall: Object.fromEntries(HALVES.map((h) => [h, { ...overall[h], recall: overall[h].found / overall[h].copies }])),
      negatives,
      falsePositivePairs: negPairs.size,
      negativesFlagged: negVideos.size,
      wrongOriginalPairs: falsePositives.length - negFp.length,
      falsePositives,
      errors: report.errors,
      seconds: report.stats.seconds,
      wallSeconds: wall,
      decodedVideos: report.stats.decodedVideos,
    });
    console.log(`\npreset ${presetName} (${mode}): ${report.stats.seconds} s scan, ${wall.toFixed(1)} s wall, ${report.stats.decodedVideos} decoded`);
    console.log(`  ${'family'.padEnd(18)} ${'tuning'.padStart(14)} ${'held-out'.padStart(14)}`);
    for (const f of families) {
      const cell = (h) => (f[h].copies ? `${pct(f[h].found, f[h].copies)} (${f[h].found}/${f[h].copies})` : '-').padStart(14);
      console.log(`  ${f.family.padEnd(18)} ${cell('tuning')} ${cell('heldout')}`);
    }
    const ov = (h) => `${pct(overall[h].found, overall[h].copies)} (${overall[h].found}/${overall[h].copies})`.padStart(14);
    console.log(`  ${'overall'.padEnd(18)} ${ov('tuning')} ${ov('heldout')}`);
    const missed = families.flatMap((f) => HALVES.flatMap((h) => f[h].missed));
    if (missed.length) console.log(`  missed: ${missed.join(', ')}`);
    console.log(
      `  false positives on hard negatives: ${negPairs.size} pairs (${negVideos.size} of ${negatives} negatives)` +
        `${negPairs.size ? `\n    ${[...negPairs].join('\n    ')}` : ''}`,
    );
    const wrong = falsePositives.filter((f) => f.kind === 'wrong-original');
    const shown = wrong.slice(0, 20).map((f) => `${f.train} ~ ${f.bench}`);
    if (wrong.length > 20) shown.push(`... ${wrong.length - 20} more in bench/out/${fastDecode === undefined ? 'eval.json' : `eval-fast-${fastDecode}.json`}`);
    console.log(`  copies also matched to another original: ${wrong.length}${wrong.length ? `\n    ${shown.join('\n    ')}` : ''}`);
    if (report.errors.length) console.log(`  errors: ${report.errors.map((e) => `${e.video}: ${e.message}`).join('; ')}`);
  }
}
const summary = {
  date: new Date().toISOString(),
  evalDir,
  fastDecode: fastDecode ?? null,
  ruleOverride: ruleOverride ?? null,
  seed: truth.seed,
  split: truth.split,
  originals: Object.fromEntries(Object.entries(truth.originals).map(([k, o]) => [k, { fast: o.fast, half: o.half, seconds: o.seconds, what: o.what }])),
  wallSeconds: (Date.now() - t0) / 1000,
  results,
};
writeFileSync(outFile, `${JSON.stringify(summary, null, 2)}\n`);
const shown = path.relative(root, outFile).startsWith('..') ? outFile : path.relative(root, outFile);
console.log(`\nfigures: ${shown} (${summary.wallSeconds.toFixed(0)} s)`);
