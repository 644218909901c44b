#!/usr/bin/env node
// Whole-scan cost vs ffmpeg decode-only at the same parallelism, side by side, on a corpus of
// bench/ and train/ videos: the evaluation set (bench/eval/build.sh) or one of the scan-cost
// corpora (bench/corpora/build.sh: --corpus x264-720p, x264-bpyr-1080p or vp9-720p). Each run: `vdedup scan` with an empty fingerprint store and
// --concurrency N, then ffmpeg `-threads 1 -vf fps=1:round=up -f null -` over the same files with
// N processes at a time. Prints the median ratio over --runs runs.
//   node bench/scan-cost.mjs [--runs 3] [--concurrency 2] [--corpus <name or directory>]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (n, d) => (process.argv.includes(`--${n}`) ? Number(process.argv[process.argv.indexOf(`--${n}`) + 1]) : d);
const runs = arg('runs', 3);
const concurrency = arg('concurrency', os.availableParallelism());
const corpusArg = process.argv.includes('--corpus') ? process.argv[process.argv.indexOf('--corpus') + 1] : undefined;
const corporaDir = process.env.VDEDUP_CORPORA_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'corpora');
const evalDir =
  corpusArg === undefined
    ? (process.env.VDEDUP_EVAL_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'eval'))
    : corpusArg.includes('/') ? path.resolve(corpusArg) : path.join(corporaDir, corpusArg);
const files = ['bench', 'train'].flatMap((d) => readdirSync(path.join(evalDir, d)).map((f) => path.join(evalDir, d, f)));

function decodeAll() {
  return new Promise((resolve, reject) => {
    let next = 0;
    let running = 0;
    const t0 = performance.now();
    const launch = () => {
      if (next >= files.length && running === 0) return resolve(performance.now() - t0);
      while (running < concurrency && next < files.length) {
        const f = files[next++];
        running++;
        const p = spawn('ffmpeg', ['-nostdin', '-loglevel', 'error', '-threads', '1', '-i', f, '-vf', 'fps=1:round=up', '-f', 'null', '-']);
        p.on('error', reject);
        p.on('close', () => {
          running--;
          launch();
        });
      }
    };
    launch();
  });
}

function scan() {
  const cache = mkdtempSync(path.join(os.tmpdir(), 'vdedup-scan-cost-'));
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'vdedup.js'), 'scan', '--train', path.join(evalDir, 'train'), '--bench', path.join(evalDir, 'bench'),
    '--out', path.join(cache, 'r.json'), '--concurrency', String(concurrency)], { env: { ...process.env, VDEDUP_CACHE_DIR: cache }, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  rmSync(cache, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`scan failed: ${r.stderr}`);
  return ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ratios = [];
const scans = [];
const decodes = [];
for (let i = 0; i < runs; i++) {
  const d = await decodeAll();
  const s = scan();
  decodes.push(d);
  scans.push(s);
  ratios.push(s / d);
  console.error(`run ${i + 1}: scan ${Math.round(s)} ms, ffmpeg decode-only ${Math.round(d)} ms, ratio ${(s / d).toFixed(3)}`);
}
console.log(JSON.stringify({ corpus: evalDir, files: files.length, concurrency, runs, scanMsMedian: Math.round(median(scans)), decodeMsMedian: Math.round(median(decodes)), ratioMedian: Number(median(ratios).toFixed(3)) }, null, 2));
