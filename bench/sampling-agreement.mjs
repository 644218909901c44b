#!/usr/bin/env node
// Does fingerprinting sample the frames `vdedup frames --fps 1` writes? For each file of the
// frames-exactness set (bash bench/frames-exactness/build.sh), the sampler's gray frames are
// matched to the video's decoded frames (the same scale, every frame), and each must be the frame
// frames.json names for that second.
//   node bench/sampling-agreement.mjs [--dir ~/.cache/vdedup/exactness/files]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { samplingFilter } = await import(path.join(root, 'dist/media/sample.js'));
const { ffmpegBinary } = await import(path.join(root, 'dist/media/binaries.js'));
const at = process.argv.indexOf('--dir');
const dir = at >= 0 ? process.argv[at + 1] : path.join(os.homedir(), '.cache', 'vdedup', 'exactness', 'files');
const SIZE = 128;

/** MD5 of each 128x128 gray frame ffmpeg gives for the first video stream with this filter. */
function grayFrames(file, filter, extra = []) {
  const r = spawnSync(ffmpegBinary().path, ['-nostdin', '-loglevel', 'error', '-i', file, '-map', '0:v:0', '-an', '-sn', '-dn', ...extra, '-vf', filter, '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], { maxBuffer: 2 ** 31 });
  if (r.status !== 0) return undefined;
  const n = r.stdout.length / (SIZE * SIZE);
  return Array.from({ length: n }, (_, i) => createHash('md5').update(r.stdout.subarray(i * SIZE * SIZE, (i + 1) * SIZE * SIZE)).digest('hex'));
}

const rows = [];
for (const name of readdirSync(dir).sort()) {
  const file = path.join(dir, name);
  const sampled = grayFrames(file, samplingFilter(1, SIZE, SIZE));
  const every = grayFrames(file, `scale=${SIZE}:${SIZE}:flags=area,format=gray`, ['-fps_mode', 'passthrough']);
  const out = mkdtempSync(path.join(os.tmpdir(), 'vdedup-agree-'));
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'vdedup.js'), 'frames', file, '--fps', '1', '--format', 'png', '--out', out]);
  const frames = r.status === 0 ? JSON.parse(readFileSync(path.join(out, 'frames.json'), 'utf8')).frames.map((f) => f.frame) : undefined;
  rmSync(out, { recursive: true, force: true });
  if (sampled === undefined || every === undefined || frames === undefined) {
    rows.push({ name, agree: false, reason: 'a decode failed' });
    continue;
  }
  const differing = sampled.filter((h, i) => every[frames[i]] !== h).length + Math.abs(sampled.length - frames.length);
  rows.push({ name, agree: differing === 0, sampled: sampled.length, differing });
  console.error(`${name}: ${sampled.length} samples, ${differing} not the frame frames.json names`);
}
const agreeing = rows.filter((r) => r.agree).length;
console.error(`${agreeing} of ${rows.length} files: every sample is the frame vdedup frames --fps 1 writes`);
console.log(JSON.stringify({ files: rows.length, agreeing, rows }, null, 2));
