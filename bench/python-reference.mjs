#!/usr/bin/env node
// vdedup fingerprint vs the Python reference (ffmpeg -> Pillow -> imagehash.phash), side by side on
// the same files, medians of several runs. Installs Pillow, numpy, scipy and imagehash from PyPI
// into bench/out/venv on first use.
//   node bench/python-reference.mjs [--runs 5] [--corpus] [video ...]
// Default videos: the clips of bench/fingerprint.mjs. --corpus also times a small corpus (four
// distinct 60 s 720p clips) end to end: `vdedup scan` with its defaults (one single-thread ffmpeg
// per core) and with --fast, against the reference looping over the files in one process, and the
// reference with a 2-process pool (the same parallelism as vdedup).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
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
const corpus = args.includes('--corpus');
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

let corpusResult;
if (corpus) {
  const dir = path.join(root, 'bench', 'out', 'corpus-720p');
  mkdirSync(dir, { recursive: true });
  const files = [0, 1, 2, 3].map((i) => {
    const file = path.join(dir, `testsrc2-hue${i * 40}-720p-60s.mp4`);
    if (!existsSync(file)) {
      console.error(`generating ${file}`);
      execFileSync('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i',
        `testsrc2=size=1280x720:rate=30,hue=h=${i * 40},trim=duration=60`, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23',
        '-pix_fmt', 'yuv420p', file]);
    }
    return file;
  });
  // A small benchmark side, decoded in every run too (a fresh store each time): it counts against vdedup.
  const bench = path.join(root, 'fixtures', 'scan', 'bench', 'v_Ab3dE_fG9hK.mp4');
  const scan = (extra) => {
    const cache = mkdtempSync(path.join(os.tmpdir(), 'vdedup-bench-'));
    try {
      return time(process.execPath, [path.join(root, 'bin', 'vdedup.js'), 'scan', '--train', dir, '--bench', bench, '--out', path.join(cache, 'report.json'), '--cache-dir', cache, ...extra]);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  };
  const ref = path.join(root, 'bench', 'python', 'reference_phash.py');
  const sides = {
    'vdedup scan': () => scan([]),
    'vdedup scan --fast': () => scan(['--fast']),
    'Python reference, one file after another': () => time(python, [ref, ...files]),
    'Python reference, 2-process pool': () => time(python, [ref, '--jobs', '2', ...files]),
  };
  const ms = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
  for (let i = 0; i < runs; i++) {
    // Rotate the order each run so no side always goes first.
    const names = Object.keys(sides);
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + i) % names.length];
      ms[name].push(sides[name]());
    }
  }
  const med = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, Math.round(median(v))]));
  corpusResult = {
    files: files.length,
    videoSeconds: 60 * files.length,
    ms: med,
    speedupVsSequential: Number((med['Python reference, one file after another'] / med['vdedup scan']).toFixed(2)),
    speedupVsSequentialFast: Number((med['Python reference, one file after another'] / med['vdedup scan --fast']).toFixed(2)),
    speedupVsPool: Number((med['Python reference, 2-process pool'] / med['vdedup scan']).toFixed(2)),
    speedupVsPoolFast: Number((med['Python reference, 2-process pool'] / med['vdedup scan --fast']).toFixed(2)),
  };
  console.error(JSON.stringify(corpusResult));
}
console.log(JSON.stringify({ runs, results, corpus: corpusResult }, null, 2));
