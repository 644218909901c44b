#!/usr/bin/env node
// Fingerprint wall time vs ffmpeg decode-only, side by side, on the same files.
//   node bench/fingerprint.mjs [--runs N] [--long] [video ...]
// Without videos, generates 60 s H.264 clips at 360p/720p/1080p into bench/out/ (with --long, also
// a 10-minute 360p clip: on short files Node's start-up is a visible part of the ratio).
// Each run times, in alternating order, `vdedup fingerprint X --json` (the whole CLI: node start,
// ffprobe, decode, hashing, JSON) and `ffmpeg -i X -vf fps=1:round=up -f null -` (decode-only,
// the limit). Reports the median of the per-run ratios (noise on a shared machine hits both).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'bench', 'out');
const args = process.argv.slice(2);
let runs = 5;
let long = false;
const videos = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else if (args[i] === '--long') long = true;
  else videos.push(args[i]);
}
const ffmpeg = process.env.FFMPEG_PATH ?? 'ffmpeg';

function generate() {
  mkdirSync(outDir, { recursive: true });
  const specs = [
    ['360p', '640x360', 60],
    ['720p', '1280x720', 60],
    ['1080p', '1920x1080', 60],
    ...(long ? [['360p', '640x360', 600]] : []),
  ];
  return specs.map(([name, size, seconds]) => {
    const file = path.join(outDir, `testsrc2-${name}-${seconds}s-h264.mp4`);
    if (!existsSync(file)) {
      process.stderr.write(`generating ${file}\n`);
      execFileSync(ffmpeg, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i',
        `testsrc2=size=${size}:rate=30,trim=duration=${seconds}`, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23',
        '-pix_fmt', 'yuv420p', file]);
    }
    return file;
  });
}

function timeIt(cmd, cmdArgs) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, cmdArgs, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${cmdArgs.join(' ')} failed: ${r.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const files = videos.length > 0 ? videos : generate();
const results = [];
for (const file of files) {
  const ours = [];
  const decode = [];
  const ratios = [];
  for (let r = 0; r < runs; r++) {
    const runOurs = () => timeIt(process.execPath, [path.join(root, 'bin', 'vdedup.js'), 'fingerprint', file, '--json']);
    const runFfmpeg = () => timeIt(ffmpeg, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', file, '-vf', 'fps=1:round=up', '-f', 'null', '-']);
    // Alternate the order so a warm cache or a noisy neighbour does not favour one side.
    let a, b;
    if (r % 2 === 0) { a = runOurs(); b = runFfmpeg(); } else { b = runFfmpeg(); a = runOurs(); }
    ours.push(a);
    decode.push(b);
    ratios.push(a / b);
  }
  const row = {
    file: path.relative(root, file),
    runs,
    vdedupMsMedian: Math.round(median(ours)),
    ffmpegDecodeMsMedian: Math.round(median(decode)),
    ratioMedian: Number(median(ratios).toFixed(3)),
  };
  results.push(row);
  process.stderr.write(`${row.file}: vdedup ${row.vdedupMsMedian} ms, ffmpeg decode-only ${row.ffmpegDecodeMsMedian} ms, ratio ${row.ratioMedian}\n`);
}
process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), ffmpeg: execFileSync(ffmpeg, ['-version']).toString().split('\n')[0], results }, null, 2)}\n`);
