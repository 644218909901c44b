#!/usr/bin/env node
// Frame extraction: time and peak memory of `vdedup frames` against plain ffmpeg writing JPEGs,
// side by side on one file (default: a synthetic one-hour 1080p video generated into bench/out/).
//   node bench/frames.mjs [video] [--runs 3]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runsAt = process.argv.indexOf('--runs');
const runs = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 3;
let video = process.argv.slice(2).find((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--runs');
if (video === undefined) {
  mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
  video = path.join(root, 'bench', 'out', 'testsrc2-1080p-1h-5fps.mp4');
  if (!existsSync(video)) {
    console.error(`generating ${video} (one hour of 1080p at 5 fps)`);
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=5,trim=duration=3600',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-pix_fmt', 'yuv420p', video]);
  }
}

/** Wall seconds and peak RSS (KB) of a command, via GNU time. */
function measure(cmd, args) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const [secs, kb] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { secs, kb };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const cases = [
  ['fps 1 (3600 JPEGs)', ['--fps', '1'], ['-vf', 'fps=1:round=up', '-q:v', '3']],
  ['count 32 (uniform)', ['--count', '32'], null],
];
const out = [];
for (const [name, ours, theirs] of cases) {
  const a = [];
  const b = [];
  for (let r = 0; r < runs; r++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vdedup-frames-bench-'));
    a.push(measure(process.execPath, [path.join(root, 'bin', 'vdedup.js'), 'frames', video, ...ours, '--out', dir]));
    rmSync(dir, { recursive: true, force: true });
    if (theirs !== null) {
      const d2 = mkdtempSync(path.join(os.tmpdir(), 'vdedup-frames-bench-'));
      b.push(measure('ffmpeg', ['-nostdin', '-loglevel', 'error', '-i', video, ...theirs, path.join(d2, '%05d.jpg')]));
      rmSync(d2, { recursive: true, force: true });
    }
  }
  const row = {
    case: name,
    vdedupSeconds: median(a.map((x) => x.secs)),
    vdedupPeakRssMB: Math.round(Math.max(...a.map((x) => x.kb)) / 1024),
    ...(b.length ? { ffmpegSeconds: median(b.map((x) => x.secs)), ratio: Number((median(a.map((x) => x.secs)) / median(b.map((x) => x.secs))).toFixed(3)) } : {}),
  };
  out.push(row);
  console.error(JSON.stringify(row));
}
console.log(JSON.stringify({ video, runs, results: out }, null, 2));
