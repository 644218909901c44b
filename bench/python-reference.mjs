#!/usr/bin/env node
// vdedup fingerprint vs the Python reference (ffmpeg -> Pillow -> imagehash.phash), side by side on
// the same files, medians of several runs. Installs Pillow, numpy, scipy and imagehash from PyPI
// into bench/out/venv on first use.
//   node bench/python-reference.mjs [--runs 5] [video ...]     (default: the clips of bench/fingerprint.mjs)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const venv = path.join(root, 'bench', 'out', 'venv');
const python = path.join(venv, 'bin', 'python');
if (!existsSync(python)) {
  console.error(`creating ${venv} (Pillow, numpy, scipy, imagehash from PyPI)`);
  execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(python, ['-m', 'pip', 'install', '-q', 'Pillow', 'numpy', 'scipy', 'imagehash'], { stdio: 'inherit' });
}
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 5;
let videos = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--runs');
if (videos.length === 0) {
  videos = ['360p', '720p', '1080p'].map((r) => path.join(root, 'bench', 'out', `testsrc2-${r}-60s-h264.mp4`));
  if (!videos.every(existsSync)) execFileSync(process.execPath, [path.join(root, 'bench', 'fingerprint.mjs'), '--runs', '1'], { stdio: 'ignore' });
}
const time = (cmd, a) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, a, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env } });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = [];
for (const v of videos) {
  const ours = [];
  const ref = [];
  for (let i = 0; i < runs; i++) {
    const a = () => ours.push(time(process.execPath, [path.join(root, 'bin', 'vdedup.js'), 'fingerprint', v, '--json']));
    const b = () => ref.push(time(python, [path.join(root, 'bench', 'python', 'reference_phash.py'), v]));
    if (i % 2 === 0) { a(); b(); } else { b(); a(); }
  }
  const row = { video: path.relative(root, v), vdedupMs: Math.round(median(ours)), pythonMs: Math.round(median(ref)), speedup: Number((median(ref) / median(ours)).toFixed(2)) };
  results.push(row);
  console.error(JSON.stringify(row));
}
console.log(JSON.stringify({ runs, results }, null, 2));
