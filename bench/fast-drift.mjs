#!/usr/bin/env node
// What `--fast` changes in the fingerprints, per family of the evaluation set (bench/eval/build.sh):
// every training copy fingerprinted exactly and with fewer decoder steps (through the evaluation's
// fingerprint store, so a run after `node bench/eval/run.mjs` and `... --fast train` decodes
// nothing), and the Hamming distance of each 1 fps sample between the two. Prints per family the
// mean bits per sample, the 99th percentile and the largest. With --corpora, the same over the
// scan-cost corpora (bench/corpora/build.sh: x264 defaults, x264 B-pyramid; each corpus a family),
// whose streams have what --fast leaves out (the evaluation's copies are mostly x264 ultrafast:
// every frame a reference and no deblocking, where --fast changes nothing).
//   node bench/fast-drift.mjs [--corpora]
import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { fingerprintCached } = await import(path.join(root, 'dist', 'fingerprint', 'cached.js'));
const { FingerprintStore } = await import(path.join(root, 'dist', 'fingerprint', 'store.js'));
const evalDir = process.env.VDEDUP_EVAL_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'eval');
const store = new FingerprintStore(path.join(evalDir, '..', 'eval-cache'));

const popcount = (x) => {
  let n = 0;
  for (; x !== 0n; x &= x - 1n) n++;
  return n;
};
const byFamily = new Map();
const corporaDir = process.env.VDEDUP_CORPORA_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'corpora');
const files = process.argv.includes('--corpora')
  ? ['x264-720p', 'x264-bpyr-1080p'].flatMap((c) => ['bench', 'train'].flatMap((d) => readdirSync(path.join(corporaDir, c, d)).sort().map((f) => ({ family: c, file: path.join(corporaDir, c, d, f) }))))
  : readdirSync(path.join(evalDir, 'train')).filter((f) => f.startsWith('copy--')).sort().map((f) => ({ family: f.split('--')[1], file: path.join(evalDir, 'train', f) }));
for (const { family, file } of files) {
  const exact = (await fingerprintCached(file, store, { threads: 1 })).fingerprint;
  const fast = (await fingerprintCached(file, store, { threads: 1, fastDecode: true })).fingerprint;
  const d = byFamily.get(family) ?? [];
  const n = Math.min(exact.hashes.length, fast.hashes.length);
  for (let i = 0; i < n; i++) d.push(popcount(exact.hashes[i] ^ fast.hashes[i]));
  byFamily.set(family, d);
}
const summary = (d) => {
  const s = [...d].sort((a, b) => a - b);
  return { samples: s.length, meanBits: Number((s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)).toFixed(2)), p99Bits: s[Math.floor(0.99 * (s.length - 1))] ?? 0, maxBits: s.at(-1) ?? 0 };
};
const families = Object.fromEntries([...byFamily].map(([k, d]) => [k, summary(d)]));
for (const [k, v] of Object.entries(families)) console.error(`${k.padEnd(20)} ${String(v.samples).padStart(5)} samples  mean ${v.meanBits.toFixed(2)}  p99 ${v.p99Bits}  max ${v.maxBits}`);
console.log(JSON.stringify({ files: files.length, all: summary([...byFamily.values()].flat()), families }, null, 2));
