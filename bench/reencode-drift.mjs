#!/usr/bin/env node
// Hash drift under a CRF 35, half-resolution re-encode, on real footage (fixtures/fetch-real.sh).
//   node bench/reencode-drift.mjs
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { fingerprintVideo } = await import(path.join(root, 'dist/fingerprint/fingerprint.js'));
const real = path.join(process.env.VDEDUP_REAL_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'real'), 'clips');
const out = path.join(root, 'bench', 'out', 'reencode');
mkdirSync(out, { recursive: true });
const pop = (x) => {
  let n = 0;
  for (; x; x >>= 1n) n += Number(x & 1n);
  return n;
};
const all = [];
for (const c of ['cockatoo.mp4', 'street-pedestrians.avi', 'tree.avi', 'phone-hello.mp4', 'megamind.avi']) {
  const copy = path.join(out, `${c.replace(/\.[a-z0-9]+$/, '')}-crf35-half.mp4`);
  if (!existsSync(copy)) {
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-i', path.join(real, c), '-vf', 'scale=trunc(iw/4)*2:trunc(ih/4)*2', '-c:v', 'libx264', '-crf', '35', '-an', copy]);
  }
  const a = await fingerprintVideo(path.join(real, c));
  const b = await fingerprintVideo(copy);
  const n = Math.min(a.frameCount, b.frameCount);
  const d = Array.from({ length: n }, (_, i) => pop(a.hashes[i] ^ b.hashes[i]));
  all.push(...d);
  console.log(`${c.padEnd(24)} ${a.video.width}x${a.video.height}  ${n} frames  mean ${(d.reduce((x, y) => x + y, 0) / n).toFixed(2)}  max ${Math.max(...d)}`);
}
console.log(`all ${all.length} frames: mean ${(all.reduce((x, y) => x + y, 0) / all.length).toFixed(2)} bits`);
