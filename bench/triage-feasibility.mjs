#!/usr/bin/env node
// Keyframe triage (issue 18), measured before it is built: can a training video be cleared from
// its keyframes alone, without losing a copy the full scan finds, and what would it save?
//   npm run build && bash bench/eval/build.sh && node bench/triage-feasibility.mjs [--runs 3]
// On the real-footage evaluation set (bench/eval; truth.json gives every copy's alignment):
//  - keyframes per 20 s of each training video (ffmpeg -skip_frame nokey, times from showinfo);
//  - informative keyframes only (the default preset's quality gate), against informative samples;
//  - for every keyframe inside a planted copy, the distance to the benchmark sample at its aligned
//    time (the nearest of 4 phases a second, within 0.25 s), with the comparisons the scan makes
//    (whole frame and mirrored against the whole frame, whole frame against the center crop,
//    inner half against inner half);
//  - for every keyframe, the distance to the nearest sample of any benchmark video (chance: what
//    keeps an unrelated video from being cleared);
//  - decode time of keyframes only against a full decode (ffmpeg, one thread, one file at a time,
//    medians of --runs).
// Prints a JSON summary; bench/README.md, "Keyframe triage: measured before building it".
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { ffmpegBinary } = await import(path.join(root, 'dist/media/binaries.js'));
const { samplingFilter, SAMPLE_SIZE } = await import(path.join(root, 'dist/media/sample.js'));
const { native } = await import(path.join(root, 'dist/native/binding.js'));
const { PRESETS } = await import(path.join(root, 'dist/scan/presets.js'));
const { probeVideo } = await import(path.join(root, 'dist/media/probe.js'));

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const evalDir = arg('eval', process.env.VDEDUP_EVAL_DIR ?? path.join(os.homedir(), '.cache', 'vdedup', 'eval'));
const runs = Number(arg('runs', '3'));
const truth = JSON.parse(readFileSync(path.join(evalDir, 'truth.json'), 'utf8')).train;
const ffmpeg = ffmpegBinary().path;
const binding = native();
const CENTER_CROP = 0.8;
const INNER_CROP = 0.5;
const PHASES = 4;
const MIN_QUALITY = PRESETS.default.minQuality;
const FRAME = SAMPLE_SIZE * SAMPLE_SIZE;

/** Gray frames of `file` through `filter` (keyframes only with `keyframes`), with their times. */
function decode(file, filter, keyframes) {
  const out = spawnSync(
    ffmpeg,
    ['-nostdin', '-hide_banner', '-loglevel', 'info', '-nostats', ...(keyframes ? ['-skip_frame', 'nokey'] : []), '-i', file, '-map', '0:v:0', '-an', '-fps_mode', 'passthrough', '-vf', `${filter},showinfo`, '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'],
    { maxBuffer: 1 << 30 },
  );
  // Some decoders (Theora) report every skipped frame as an error: keyframes-only decoding then
  // exits non-zero with the keyframes decoded, and the file counts among the ones with errors.
  if (out.status !== 0 && !(keyframes && out.stdout.length > 0)) throw new Error(`ffmpeg failed on ${file}: ${out.stderr.toString().slice(-500)}`);
  const times = [...out.stderr.toString().matchAll(/pts_time:\s*([-0-9.e]+)/g)].map((m) => Number(m[1]));
  const count = out.stdout.length / FRAME;
  if (times.length !== count) throw new Error(`${file}: ${count} frames but ${times.length} times`);
  return { frames: out.stdout, count, times, failed: out.status !== 0 };
}

/** The hashes the scan compares, each as [hi, lo] 32-bit halves (popcount on numbers, not BigInt). */
async function hashAll(frames) {
  const [trimmed, center, inner] = await Promise.all([
    binding.hashFrames(frames, SAMPLE_SIZE, SAMPLE_SIZE, { trimBorders: true }),
    binding.hashFrames(frames, SAMPLE_SIZE, SAMPLE_SIZE, { trimBorders: true, centerCrop: CENTER_CROP }),
    binding.hashFrames(frames, SAMPLE_SIZE, SAMPLE_SIZE, { trimBorders: true, centerCrop: INNER_CROP }),
  ]);
  const halves = (h) => Array.from(h, (x) => [Number(x >> 32n), Number(x & 0xffffffffn)]);
  // Informative as the default preset counts it (flat or nearly flat pictures are left out).
  const informative = Array.from(trimmed.quality, (q) => q >= MIN_QUALITY);
  return { whole: halves(trimmed.hashes), flip: halves(trimmed.flips), center: halves(center.hashes), inner: halves(inner.hashes), informative };
}

function pop32(x) {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
const dist = (a, b) => pop32((a[0] ^ b[0]) >>> 0) + pop32((a[1] ^ b[1]) >>> 0);

/** Keyframe `i` of `t` (train hashes) against benchmark sample `j` of `b`: the scan's comparisons. */
const pairDistance = (t, i, b, j) =>
  Math.min(dist(t.whole[i], b.whole[j]), dist(t.flip[i], b.whole[j]), dist(t.whole[i], b.center[j]), dist(t.inner[i], b.inner[j]));

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

// The benchmark side: every original at 4 phases a second (sample k at k/4 s, as the scan holds it).
const bench = {};
for (const f of readdirSync(path.join(evalDir, 'bench')).sort()) {
  const d = decode(path.join(evalDir, 'bench', f), samplingFilter(PHASES, SAMPLE_SIZE, SAMPLE_SIZE), false);
  bench[f.replace(/\.mp4$/, '')] = { ...(await hashAll(d.frames)), count: d.count };
}
const benchSamples = Object.values(bench).reduce((n, b) => n + b.count, 0);
process.stderr.write(`bench: ${Object.keys(bench).length} originals, ${benchSamples} samples (${(benchSamples / PHASES).toFixed(0)} s)\n`);

const thresholds = [10, 12, 14, 16, 18, 20, 22, 24];
const trainFiles = readdirSync(path.join(evalDir, 'train')).filter((f) => truth[f]).sort();
const perVideo = [];
const copyKeyframes = []; // aligned distance of every keyframe inside a copy
const copies = [];
const chance = []; // per keyframe outside any copy: nearest sample of any benchmark video
for (const f of trainFiles) {
  const t = truth[f];
  const file = path.join(evalDir, 'train', f);
  const kf = decode(file, `scale=${SAMPLE_SIZE}:${SAMPLE_SIZE}:flags=area,format=gray`, true);
  const h = await hashAll(kf.frames);
  // The length from the container (a full decode only to count seconds would double the decoding).
  const seconds = (await probeVideo(file)).duration ?? kf.times[kf.count - 1] ?? 0;
  perVideo.push({ file: f, seconds, keyframes: kf.count, perWindow: seconds >= 20 ? (kf.count * 20) / seconds : null, keyframeDecodeFailed: kf.failed });
  const inCopy = (time) => t.kind === 'copy' && t.origStart !== null && time >= t.trainStart && time < (t.trainEnd ?? Infinity);
  const found = [];
  for (let i = 0; i < kf.count; i++) {
    if (!h.informative[i]) continue;
    const time = kf.times[i];
    if (inCopy(time)) {
      const origTime = t.origStart + (time - t.trainStart) * t.speed;
      const b = bench[t.original];
      let best = 64;
      for (let j = Math.max(0, Math.round((origTime - 0.25) * PHASES)); j <= Math.min(b.count - 1, Math.round((origTime + 0.25) * PHASES)); j++) {
        if (b.informative[j]) best = Math.min(best, pairDistance(h, i, b, j));
      }
      copyKeyframes.push(best);
      found.push(best);
    } else {
      let best = 64;
      for (const [name, b] of Object.entries(bench)) {
        if (t.kind === 'copy' && name === t.original) continue;
        for (let j = 0; j < b.count; j++) if (b.informative[j]) best = Math.min(best, pairDistance(h, i, b, j));
      }
      chance.push(best);
    }
  }
  if (t.kind === 'copy' && t.origStart !== null) {
    copies.push({ file: f, family: t.family, seconds: (t.trainEnd ?? seconds) - t.trainStart, keyframes: found.length, distances: found });
  }
}

// Decode cost: keyframes only against everything, one thread, the same files.
const timeDecode = (file, keyframes) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(ffmpeg, ['-nostdin', '-loglevel', 'error', '-threads', '1', ...(keyframes ? ['-skip_frame', 'nokey'] : []), '-i', file, '-map', '0:v:0', '-f', 'null', '-']);
  if (r.status !== 0 && !keyframes) throw new Error(`decode failed: ${file}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
};
const decodeMs = { keyframes: [], full: [] };
for (let r = 0; r < runs; r++) {
  let k = 0;
  let a = 0;
  for (const f of trainFiles) {
    const file = path.join(evalDir, 'train', f);
    k += timeDecode(file, true);
    a += timeDecode(file, false);
  }
  decodeMs.keyframes.push(k);
  decodeMs.full.push(a);
}

const share = (v, pred) => (v.length ? v.filter(pred).length / v.length : NaN);
const perWindow = perVideo.map((v) => v.perWindow).filter((x) => x !== null);
const summary = {
  evalDir,
  trainVideos: trainFiles.length,
  benchSamples,
  keyframesPer20s: { p10: [...perWindow].sort((a, b) => a - b)[Math.floor(perWindow.length / 10)], median: median(perWindow), share2OrFewer: share(perWindow, (x) => x <= 2) },
  keyframeDecodeFailed: perVideo.filter((v) => v.keyframeDecodeFailed).map((v) => v.file),
  copies: copies.length,
  copiesWithoutKeyframes: copies.filter((c) => c.keyframes === 0).length,
  byThreshold: thresholds.map((T) => ({
    bits: T,
    copyKeyframesWithin: share(copyKeyframes, (d) => d <= T),
    copiesWithAKeyframeWithin: share(copies, (c) => c.distances.some((d) => d <= T)),
    copiesWithTwoKeyframesWithin: share(copies, (c) => c.distances.filter((d) => d <= T).length >= 2),
    chanceKeyframesWithin: share(chance, (d) => d <= T),
    // Chance per keyframe and per benchmark second (scales with the benchmark side's size).
    chancePerKeyframePerBenchSecond: share(chance, (d) => d <= T) / (benchSamples / PHASES),
  })),
  copiesMissedAt20: copies.filter((c) => !c.distances.some((d) => d <= 20)).map((c) => ({ file: c.file, family: c.family, keyframes: c.keyframes, distances: c.distances })),
  decodeMsMedian: { keyframesOnly: median(decodeMs.keyframes), full: median(decodeMs.full), ratio: median(decodeMs.keyframes) / median(decodeMs.full) },
};
console.log(JSON.stringify(summary, null, 2));
