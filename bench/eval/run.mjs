#!/usr/bin/env node
// Evaluation: recall per transformation and false positives on hard negatives, for both presets,
// through the same engine as `vdedup scan` (retrieval: the preset's frame scan or hnswlib; and the exact path).
//   bench/eval/build.sh && node bench/eval/run.mjs        (npm run eval does both)
// Ground truth is in the file names made by build.sh:
//   copy--<transform>--<original>.*  must match bench/<original>.mp4 (or a bench video sharing its footage)
//   neg--<kind>--<name>.*            must match nothing
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { runScan } = await import(path.join(root, 'dist/decontam/scan.js'));
const { PRESETS } = await import(path.join(root, 'dist/decontam/presets.js'));
const { FingerprintStore } = await import(path.join(root, 'dist/fingerprint/store.js'));

const evalDir = process.env.VDEDUP_EVAL_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'eval');
const store = new FingerprintStore(path.join(evalDir, '..', 'eval-cache'));
// Benchmark videos that share footage: a match between them is correct, not a false positive.
const SHARED = {
  'bird-film': ['megamind-short'],
  'megamind-short': ['bird-film'],
  'class-webcam': ['ball-short', 'street'],
  'ball-short': ['class-webcam'],
  street: ['class-webcam'],
};

function parse(id) {
  const [kind, a, b] = id.replace(/\.[a-z0-9]+$/, '').split('--');
  return kind === 'copy' ? { kind, transform: a, source: b } : { kind, negKind: a, name: b };
}

// --fast train|all: decode with fewer decoder steps (the `--fast` of vdedup scan), to measure its recall cost.
const fastAt = process.argv.indexOf('--fast');
const fastDecode = fastAt >= 0 ? process.argv[fastAt + 1] : undefined;
if (fastDecode !== undefined && fastDecode !== 'train' && fastDecode !== 'all') throw new Error('--fast takes train or all');

const results = [];
for (const presetName of ['default', 'paper']) {
  for (const exact of [false, true]) {
    const report = await runScan({
      train: path.join(evalDir, 'train'),
      bench: path.join(evalDir, 'bench'),
      preset: PRESETS[presetName],
      exact,
      store,
      fastDecode,
    });
    const byTrain = new Map();
    for (const m of report.matches) {
      if (m.reason !== 'near-duplicate') continue;
      const list = byTrain.get(m.train) ?? [];
      list.push(m.bench.replace(/\.mp4$/, ''));
      byTrain.set(m.train, list);
    }
    const perTransform = new Map();
    const falsePositives = [];
    let negatives = 0;
    // Every training video of the set, matched or not.
    for (const id of readdirSync(path.join(evalDir, 'train')).sort()) {
      const t = parse(id);
      const hits = byTrain.get(id) ?? [];
      if (t.kind === 'copy') {
        const ok = hits.includes(t.source);
        const wrong = hits.filter((b) => b !== t.source && !(SHARED[t.source] ?? []).includes(b));
        const row = perTransform.get(t.transform) ?? { copies: 0, found: 0, missed: [] };
        row.copies++;
        if (ok) row.found++;
        else row.missed.push(t.source);
        perTransform.set(t.transform, row);
        for (const b of wrong) falsePositives.push(`${id} ~ ${b}`);
      } else {
        negatives++;
        for (const b of hits) falsePositives.push(`${id} ~ ${b}`);
      }
    }
    const rows = [...perTransform.entries()].sort().map(([transform, r]) => ({ transform, ...r, recall: r.found / r.copies }));
    results.push({ preset: presetName, exact, rows, negatives, falsePositives, errors: report.errors, seconds: report.stats.seconds });
    const mode = exact ? 'exact' : PRESETS[presetName].retrieval;
    console.log(`\npreset ${presetName} (${mode}): ${report.stats.seconds} s, ${report.stats.decodedVideos} decoded`);
    for (const r of rows) console.log(`  ${r.transform.padEnd(16)} recall ${(100 * r.recall).toFixed(0).padStart(3)}% (${r.found}/${r.copies})${r.missed.length ? `  missed: ${r.missed.join(', ')}` : ''}`);
    console.log(`  false positives: ${falsePositives.length} (${negatives} hard negatives)${falsePositives.length ? `\n    ${falsePositives.join('\n    ')}` : ''}`);
    if (report.errors.length) console.log(`  errors: ${report.errors.map((e) => `${e.video}: ${e.message}`).join('; ')}`);
  }
}
mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
const outName = fastDecode === undefined ? 'eval.json' : `eval-fast-${fastDecode}.json`;
writeFileSync(path.join(root, 'bench', 'out', outName), `${JSON.stringify({ date: new Date().toISOString(), evalDir, fastDecode: fastDecode ?? null, results }, null, 2)}\n`);
