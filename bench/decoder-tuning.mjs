#!/usr/bin/env node
// Decoder tuning (issue 7): what decoding less buys, and what it costs in hash drift.
//   node bench/decoder-tuning.mjs [--runs 3]
// 1. Speed, side by side in one run, alternating order, medians of --runs: ffmpeg decode-only with
//    the sampling filter (exact, -skip_loop_filter all, -skip_frame noref, both), and vdedup
//    fingerprint exact vs --fast, and the Python reference (bench/python) when its venv exists
//    (node bench/python-reference.mjs creates it). Inputs: the 60 s H.264 clips of
//    bench/fingerprint.mjs and a 30 s VP9 720p clip generated here.
// 2. Threads vs processes: four 720p files, one ffmpeg at a time with its own threads, against two
//    single-threaded ffmpegs at a time (what `vdedup scan` does).
// 3. Drift on real footage (the evaluation set's clips, bench/eval/build.sh): Hamming distance
//    between the exact and the --fast hash of every sampled frame.
// Writes bench/out/decoder-tuning.json.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'bench', 'out');
const cli = path.join(root, 'bin', 'vdedup.js');
const args = process.argv.slice(2);
const runs = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : 3;
const ffmpeg = process.env.FFMPEG_PATH ?? 'ffmpeg';
const python = path.join(out, 'venv', 'bin', 'python');
const FILTER = 'fps=1:round=up,scale=128:128:flags=area,format=gray';
const MODES = {
  exact: [],
  'skip_loop_filter': ['-skip_loop_filter', 'all'],
  'skip_frame noref': ['-skip_frame', 'noref'],
  both: ['-skip_loop_filter', 'all', '-skip_frame', 'noref'],
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
function time(cmd, a) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, a, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${a.join(' ')} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const decodeOnly = (file, extra, threads) => [
  '-nostdin', '-v', 'error', ...(threads === undefined ? [] : ['-threads', String(threads)]), ...extra, '-i', file, '-vf', FILTER, '-f', 'null', '-',
];

function clips() {
  const h264 = ['360p', '720p', '1080p'].map((r) => path.join(out, `testsrc2-${r}-60s-h264.mp4`));
  if (!h264.every(existsSync)) execFileSync(process.execPath, [path.join(root, 'bench', 'fingerprint.mjs'), '--runs', '1'], { stdio: 'ignore' });
  const vp9 = path.join(out, 'testsrc2-720p-30s-vp9.webm');
  if (!existsSync(vp9)) {
    process.stderr.write(`generating ${vp9}\n`);
    execFileSync(ffmpeg, ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30,trim=duration=30',
      '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '2M', '-row-mt', '1', vp9]);
  }
  return [...h264, vp9];
}

// 1. Speed.
const speed = [];
for (const file of clips()) {
  const t = Object.fromEntries([...Object.keys(MODES), 'vdedup exact', 'vdedup --fast', 'python'].map((k) => [k, []]));
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? Object.keys(t) : Object.keys(t).reverse();
    for (const k of order) {
      if (k in MODES) t[k].push(time(ffmpeg, decodeOnly(file, MODES[k])));
      else if (k === 'vdedup exact') t[k].push(time(process.execPath, [cli, 'fingerprint', file, '--json']));
      else if (k === 'vdedup --fast') t[k].push(time(process.execPath, [cli, 'fingerprint', file, '--json', '--fast']));
      else if (existsSync(python)) t[k].push(time(python, [path.join(root, 'bench', 'python', 'reference_phash.py'), file]));
    }
  }
  const row = { file: path.basename(file), ms: Object.fromEntries(Object.entries(t).filter(([, v]) => v.length > 0).map(([k, v]) => [k, Math.round(median(v))])) };
  speed.push(row);
  console.log(JSON.stringify(row));
}

// 2. Threads vs processes: 4 files, sequential with ffmpeg's threads vs 2 at a time with 1 thread each.
const four = Array.from({ length: 4 }, () => path.join(out, 'testsrc2-720p-60s-h264.mp4'));
const runParallel = (files, width, extra) =>
  new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let next = 0;
    let running = 0;
    const startOne = () => {
      if (next >= files.length) {
        if (running === 0) resolve(Number(process.hrtime.bigint() - t0) / 1e6);
        return;
      }
      const f = files[next++];
      running++;
      const p = spawn(ffmpeg, decodeOnly(f, extra, 1), { stdio: 'ignore' });
      p.on('exit', (code) => {
        running--;
        if (code !== 0) reject(new Error(`ffmpeg exit ${code}`));
        else startOne();
      });
    };
    for (let i = 0; i < width; i++) startOne();
  });
const parallelism = { sequentialThreadedMs: [], twoProcessesOneThreadMs: [], twoProcessesOneThreadFastMs: [] };
for (let r = 0; r < runs; r++) {
  const t0 = process.hrtime.bigint();
  for (const f of four) time(ffmpeg, decodeOnly(f, []));
  parallelism.sequentialThreadedMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  parallelism.twoProcessesOneThreadMs.push(await runParallel(four, Math.min(2, os.availableParallelism()), []));
  parallelism.twoProcessesOneThreadFastMs.push(await runParallel(four, Math.min(2, os.availableParallelism()), MODES.both));
}
const par = Object.fromEntries(Object.entries(parallelism).map(([k, v]) => [k, Math.round(median(v))]));
console.log(JSON.stringify({ parallelism: par }));

// 3. Drift on real footage: exact vs --fast hashes, frame by frame.
const evalDir = process.env.VDEDUP_EVAL_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'eval');
const realDirs = [path.join(evalDir, 'bench'), path.join(evalDir, 'tmp')].filter(existsSync);
const drift = [];
const popcount = (a, b) => {
  let x = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let n = 0;
  for (; x !== 0n; x &= x - 1n) n++;
  return n;
};
for (const dir of realDirs) {
  for (const name of readdirSync(dir).filter((n) => /\.(mp4|webm|mkv|avi)$/.test(n)).sort()) {
    const file = path.join(dir, name);
    const fp = (fast) => JSON.parse(execFileSync(process.execPath, [cli, 'fingerprint', file, '--json', ...(fast ? ['--fast'] : [])], { maxBuffer: 64 * 1024 * 1024 }).toString());
    const a = fp(false).hashes;
    const b = fp(true).hashes;
    const d = a.map((h, i) => popcount(h, b[i] ?? h)).sort((x, y) => x - y);
    const row = {
      clip: `${path.basename(dir)}/${name}`,
      frames: d.length,
      mean: +(d.reduce((s, x) => s + x, 0) / d.length).toFixed(2),
      p95: d[Math.min(d.length - 1, Math.ceil(0.95 * d.length) - 1)],
      max: d[d.length - 1],
      over10: d.filter((x) => x > 10).length,
    };
    drift.push(row);
    console.log(JSON.stringify(row));
  }
}
const all = drift.flatMap((r) => Array(r.frames).fill(r.mean));
writeFileSync(path.join(out, 'decoder-tuning.json'), `${JSON.stringify({ date: new Date().toISOString(), runs, speed, parallelism: par, drift }, null, 2)}\n`);
console.log(`drift over ${drift.length} real clips: frame-weighted mean ${all.length ? (all.reduce((s, x) => s + x, 0) / all.length).toFixed(2) : 'n/a'} bits`);
