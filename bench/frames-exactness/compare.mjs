// The exactness check for `vdedup frames`, shared by bench/frames-exactness/run.mjs (full set) and
// test/e2e/frames-exactness.test.ts (subset under vitest).
//
// The definition checked (the contract the extraction is held to):
// - A video's frames are the frames ffmpeg's decoder outputs for the first video stream, after
//   edit lists and discards:
//     ffmpeg -i F -map 0:v:0 -fps_mode passthrough -pix_fmt rgb24 -f framemd5 -
//   run here with `-enc_time_base -1` added, which keeps the stream's own time base in the pts
//   column (ffmpeg 5.1 otherwise rescales the pts to 1/frame rate, which rounds variable or
//   non-integer timings); the frames and their md5s are the same (`literalSameFrames` checks it).
// - Frame i is the i-th of them; its time is (its pts - the first frame's pts) in seconds.
// - --count N: indices np.linspace(0, T-1, N, dtype=int) (float64 step (T-1)/(N-1), truncated,
//   the last exactly T-1; N = 1: [0]).
// - --fps F: for k = 0, 1, ... while k/F < D, the frame on screen at k/F (the last frame whose time
//   is <= k/F); D = the last frame's time + its duration (framemd5's duration column; 0: the
//   median frame interval).
// - --at t1,...: the frame on screen at each time.
// - --random N --seed S: N distinct frames, each image the reference frame its `frame` field names.
// An image is exact when its raw RGB (sharp, 3 channels) has the md5 of the expected frame's rgb24;
// `timestamp` must be within 1 us of the frame's time, and `frame` must be the expected index.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';

const execFileAsync = promisify(execFile);

export const STRATEGIES = ['default', 'seek', 'single-pass'];
export const TIME_TOLERANCE = 1e-6;

export function ffmpegPath() {
  return process.env.FFMPEG_PATH || 'ffmpeg';
}
export function ffprobePath() {
  return process.env.FFPROBE_PATH || 'ffprobe';
}

/** Parse framemd5 output: time base, dimensions and per frame pts, duration (ticks) and md5. */
export function parseFramemd5(text) {
  let tb;
  let width;
  let height;
  const frames = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#tb 0:')) {
      const [num, den] = line.slice(6).trim().split('/').map((s) => BigInt(s));
      tb = { num, den };
    } else if (line.startsWith('#dimensions 0:')) {
      [width, height] = line.slice(14).trim().split('x').map(Number);
    } else if (line !== '' && !line.startsWith('#')) {
      const cols = line.split(',').map((s) => s.trim());
      if (cols[0] !== '0') continue;
      frames.push({ pts: BigInt(cols[2]), duration: BigInt(cols[3]), md5: cols[5] });
    }
  }
  if (tb === undefined) throw new Error('framemd5 output without a time base');
  return { tb, width, height, frames };
}

/**
 * framemd5 of the first video stream; with `showinfo`, also each frame's pts as the decoder gave it
 * (the muxer would move a pts that does not increase, by one tick, in framemd5's own column).
 */
async function framemd5(file, extra, { timeoutMs = 600_000, showinfo = false } = {}) {
  const args = [
    '-nostdin', '-hide_banner', '-nostats', '-loglevel', showinfo ? 'info' : 'error', ...extra.before, '-i', file, '-map', '0:v:0',
    ...(showinfo ? ['-vf', 'showinfo'] : []), '-fps_mode', 'passthrough', ...extra.after, '-pix_fmt', 'rgb24', '-f', 'framemd5', '-',
  ];
  const { stdout, stderr } = await execFileAsync(ffmpegPath(), args, { maxBuffer: 1 << 30, timeout: timeoutMs });
  if (!showinfo) return stdout;
  const pts = [];
  for (const m of stderr.matchAll(/\[Parsed_showinfo_\d+ @ [^\]]+\] n:\s*(\d+) pts:\s*(-?\d+)/g)) pts[Number(m[1])] = m[2];
  return { text: stdout, pts };
}

/** Rotation of the first video stream (display matrix), 0 when none. */
export async function rotationOf(file) {
  const { stdout } = await execFileAsync(ffprobePath(), ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream_side_data=rotation', '-of', 'csv=p=0', file]);
  const n = Number(stdout.split(/[\s,]+/).find((s) => s !== '') ?? 0);
  return Number.isFinite(n) ? n : 0;
}

/**
 * The reference of a video: its decoded frames (times exact as rationals), from framemd5 text (see
 * `referenceText`). `alt`: md5 -> index of the frames without autorotation (diagnostics only).
 */
export function buildReference(text, { alt, literalSameFrames, rotation, decodedPts, streamEnd } = {}) {
  const { tb, width, height, frames } = parseFramemd5(text);
  if (frames.length === 0) throw new Error('the reference decode gave no frames');
  // The decoder's own pts (showinfo) where framemd5's column was moved by the muxer.
  let muxerMoved = 0;
  if (decodedPts !== undefined && decodedPts.length === frames.length) {
    frames.forEach((f, i) => {
      const p = BigInt(decodedPts[i]);
      if (p !== f.pts) {
        muxerMoved++;
        f.pts = p;
      }
    });
  }
  const first = frames[0].pts;
  const rel = frames.map((f) => f.pts - first);
  const seconds = rel.map((r) => Number(r * tb.num) / Number(tb.den));
  let monotonic = true;
  for (let i = 1; i < rel.length; i++) if (rel[i] < rel[i - 1]) monotonic = false;
  const byMd5 = new Map();
  frames.forEach((f, i) => {
    const list = byMd5.get(f.md5) ?? [];
    list.push(i);
    byMd5.set(f.md5, list);
  });
  // D: the last frame's time + its duration (0: the median interval), cut where the container
  // ends the stream's presentation (an MP4 edit that ends inside the last frame's display).
  let lastDuration = frames.at(-1).duration;
  if (lastDuration <= 0n) {
    const gaps = rel.slice(1).map((r, i) => r - rel[i]).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    lastDuration = gaps.length === 0 ? 0n : gaps[Math.floor(gaps.length / 2)];
  }
  if (streamEnd !== undefined) {
    // streamEnd: seconds from the first frame, as a decimal string (ffprobe's start_time + duration).
    const end = decimalToRational(streamEnd);
    const endRel = (end.num * tb.den) / (end.den * tb.num);
    if (endRel > rel.at(-1) && endRel < rel.at(-1) + lastDuration) lastDuration = endRel - rel.at(-1);
  }
  const endTicks = rel.at(-1) + lastDuration;
  return {
    tb,
    width,
    height,
    frames,
    count: frames.length,
    rel,
    seconds,
    monotonic,
    byMd5,
    endTicks,
    endSeconds: Number(endTicks * tb.num) / Number(tb.den),
    lastDuration,
    alt,
    literalSameFrames,
    rotation: rotation ?? 0,
    muxerMoved,
  };
}

/**
 * Decode a video for its reference: the framemd5 text (with -enc_time_base -1), whether the
 * literal command of the definition gives the same frames (`checkLiteral`), and for a rotated
 * video the md5s of its frames without autorotation.
 */
export async function referenceText(file, { checkLiteral = true } = {}) {
  const { text, pts: decodedPts } = await framemd5(file, { before: [], after: ['-enc_time_base', '-1'] }, { showinfo: true });
  const md5s = parseFramemd5(text).frames.map((f) => f.md5);
  let literalSameFrames;
  if (checkLiteral) {
    const literal = parseFramemd5(await framemd5(file, { before: [], after: [] })).frames.map((f) => f.md5);
    literalSameFrames = literal.length === md5s.length && literal.every((m, i) => m === md5s[i]);
  }
  const rotation = await rotationOf(file).catch(() => 0);
  let altMd5s;
  if (rotation !== 0) altMd5s = parseFramemd5(await framemd5(file, { before: ['-noautorotate'], after: ['-enc_time_base', '-1'] })).frames.map((f) => f.md5);
  return { text, decodedPts, literalSameFrames, rotation, altMd5s, streamEnd: await streamEndOf(file).catch(() => undefined) };
}

/**
 * Where the container ends the first video stream's presentation, in seconds from its first
 * decoded frame (ffprobe's start_time + duration; an MP4 edit list states it), as 6-decimal text
 * rounded down; undefined when not stated.
 */
async function streamEndOf(file) {
  // Only an MP4/MOV edit list ends a presentation inside a frame's display; elsewhere start_time
  // need not be the first frame's time.
  if (!/\.(mp4|mov|m4v)$/i.test(file)) return undefined;
  const { stdout } = await execFileAsync(ffprobePath(), ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=start_time,duration', '-of', 'compact=p=0', file]);
  const fields = Object.fromEntries(stdout.trim().split('|').map((kv) => kv.split('=')));
  const start = Number(fields.start_time);
  const duration = Number(fields.duration);
  if (!Number.isFinite(start) || !Number.isFinite(duration) || duration <= 0) return undefined;
  return (Math.floor(duration * 1e6) / 1e6).toFixed(6);
}

export async function loadReference(file, opts) {
  const r = await referenceText(file, opts);
  return referenceFromText(r);
}

export function referenceFromText({ text, decodedPts, literalSameFrames, rotation, altMd5s, streamEnd }) {
  let alt;
  if (altMd5s !== undefined) {
    alt = new Map();
    altMd5s.forEach((m, i) => alt.set(m, [...(alt.get(m) ?? []), i]));
  }
  return buildReference(text, { alt, literalSameFrames, rotation, decodedPts, streamEnd });
}

// ------------------------------------------------------------------------------------------------
// Selections

/** np.linspace(0, T-1, N, dtype=int), float64 as numpy computes it. */
export function linspaceIndices(total, n) {
  if (n === 1) return [0];
  const step = (total - 1) / (n - 1);
  const out = [];
  for (let i = 0; i < n; i++) out.push(Math.trunc(i * step));
  out[n - 1] = total - 1;
  return out;
}

/** Decimal text -> { num, den } (BigInt), exactly. */
export function decimalToRational(text) {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (m === null) throw new Error(`not a decimal: ${text}`);
  const frac = m[2] ?? '';
  return { num: BigInt(m[1] + frac), den: 10n ** BigInt(frac.length) };
}

/** The frame on screen at time num/den seconds: the last frame whose time is <= it (-1: none). */
export function onScreen(ref, t) {
  // rel * tb.num / tb.den <= t.num / t.den  <=>  rel * tb.num * t.den <= t.num * tb.den
  const le = (i) => ref.rel[i] * ref.tb.num * t.den <= t.num * ref.tb.den;
  if (ref.monotonic) {
    let lo = 0;
    let hi = ref.count - 1;
    if (!le(0)) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (le(mid)) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
  for (let i = ref.count - 1; i >= 0; i--) if (le(i)) return i;
  return -1;
}

function microText(micro) {
  const s = micro.toString().padStart(7, '0');
  return `${s.slice(0, -6)}.${s.slice(-6)}`;
}

/** A frame's own time as 6-decimal text, rounded up to the next microsecond. */
export function frameTimeText(ref, i) {
  const n = ref.rel[i] * ref.tb.num * 1_000_000n;
  const micro = (n + ref.tb.den - 1n) / ref.tb.den;
  return microText(micro);
}

/** The time half-way between frames i and i+1 (rounded down to a microsecond), as text. */
export function midpointText(ref, i) {
  const n = (ref.rel[i] + ref.rel[i + 1]) * ref.tb.num * 1_000_000n;
  return microText(n / (2n * ref.tb.den));
}

/** Times for --at: 0, ~6 frames' own times, ~6 midpoints between frames. */
export function atTimes(ref) {
  const T = ref.count;
  const pick = (fractions, max) => [...new Set(fractions.map((f) => Math.min(max, Math.max(0, Math.round(f * (T - 1))))))];
  // (Frames before the first in time, which only out-of-order pts give, are not asked for.)
  const own = pick([0.03, 0.2, 0.4, 0.6, 0.8, 1], T - 1).filter((i) => i > 0 && ref.rel[i] >= 0n);
  const mids = T > 1 ? pick([0, 0.1, 0.3, 0.5, 0.7, 1], T - 2).filter((i) => ref.rel[i] + ref.rel[i + 1] >= 0n) : [];
  const texts = ['0.000000', ...own.map((i) => frameTimeText(ref, i)), ...mids.map((i) => midpointText(ref, i))];
  const unique = [...new Set(texts)].sort((a, b) => Number(a) - Number(b));
  return unique;
}

/** A time inside the last frame's display (its time + half its duration), as text. */
export function tailTimeText(ref) {
  const n = (2n * ref.rel.at(-1) + ref.lastDuration) * ref.tb.num * 1_000_000n;
  return microText(n / (2n * ref.tb.den));
}

/** Expected frames of --fps F: [{ requested (s), frame }] for k/F < D. */
export function fpsExpected(ref, fpsText) {
  const f = decimalToRational(fpsText);
  const out = [];
  // k/F = k * f.den / f.num seconds; k/F < D  <=>  k * f.den * tb.den < endTicks * tb.num * f.num
  for (let k = 0n; k * f.den * ref.tb.den < ref.endTicks * ref.tb.num * f.num; k++) {
    out.push({ requested: Number(k * f.den) / Number(f.num), frame: onScreen(ref, { num: k * f.den, den: f.num }) });
    if (out.length > 200_000) throw new Error('fps selection too long');
  }
  return out;
}

/**
 * The requests for a file: [{ name, args, expect }] where expect is
 * { kind: 'list', frames: [indices] } or { kind: 'random', count }.
 */
export function planRequests(ref, { counts = [8, 16, 32, 50, 64], fps = ['0.5', '1', '2'], random = [{ n: 8, seed: 1 }], at = true, tail = true } = {}) {
  const reqs = [];
  for (const n of counts) {
    if (n > ref.count) continue;
    reqs.push({ name: `count ${n}`, args: ['--count', String(n)], expect: { kind: 'list', frames: linspaceIndices(ref.count, n) } });
  }
  for (const f of fps) {
    const exp = fpsExpected(ref, f);
    reqs.push({ name: `fps ${f}`, args: ['--fps', f], expect: { kind: 'list', frames: exp.map((e) => e.frame), fps: true } });
  }
  if (at) {
    const times = atTimes(ref);
    reqs.push({ name: `at ${times.length} times`, args: ['--at', times.join(',')], expect: { kind: 'list', frames: times.map((t) => onScreen(ref, decimalToRational(t))), times } });
  }
  if (tail) {
    const t = tailTimeText(ref);
    reqs.push({ name: 'at last frame + half its duration', args: ['--at', t], expect: { kind: 'list', frames: [onScreen(ref, decimalToRational(t))], times: [t] } });
  }
  for (const r of random) {
    if (r.n > ref.count) continue;
    reqs.push({ name: `random ${r.n} seed ${r.seed}`, args: ['--random', String(r.n), '--seed', String(r.seed)], expect: { kind: 'random', count: r.n } });
  }
  return reqs;
}

// ------------------------------------------------------------------------------------------------
// Running and checking

/**
 * Run `vdedup frames` once: exit code, first error line, time; a timeout kills the process group
 * (the CLI and the ffmpeg processes it started) and counts as a refusal.
 */
export function runFrames({ cli, video, args, strategy, outDir, timeoutMs = 180_000, onSpawn, onExit }) {
  const argv = [cli, 'frames', video, ...args, '--out', outDir, '--format', 'png', ...(strategy === 'default' ? [] : ['--strategy', strategy])];
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    onSpawn?.(child.pid);
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      onExit?.(child.pid);
      const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
      const line = lines.find((l) => l.startsWith('vdedup:')) ?? lines[0] ?? `exit ${code}`;
      const error = timedOut ? `timeout after ${Math.round(timeoutMs / 1000)} s` : code === 0 ? undefined : line.replaceAll(`${video}: `, '').replaceAll(video, path.basename(video));
      resolve({ code, timedOut, error, stdout, stderr, ms: Date.now() - started, argv: argv.slice(1) });
    });
  });
}

/** md5 of an image's pixels as packed 8-bit RGB (sharp decodes it). */
export async function imageRgbMd5(file) {
  let img = sharp(await readFile(file));
  const meta = await img.metadata();
  if (meta.channels === 4 || meta.hasAlpha) img = img.removeAlpha();
  if (meta.channels !== undefined && meta.channels < 3) img = img.toColourspace('srgb');
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  return { md5: createHash('md5').update(data).digest('hex'), width: info.width, height: info.height, channels: info.channels };
}

function describeImage(ref, expected, got) {
  const same = ref.byMd5.get(got.md5);
  if (same !== undefined) {
    const nearest = same.reduce((a, b) => (Math.abs(b - expected) < Math.abs(a - expected) ? b : a));
    return `image is frame ${nearest} (${nearest > expected ? '+' : ''}${nearest - expected})`;
  }
  const alt = ref.alt?.get(got.md5);
  if (alt !== undefined) return `image is frame ${alt[0]} without rotation applied`;
  if (got.width !== ref.width || got.height !== ref.height) return `image ${got.width}x${got.height}, frames are ${ref.width}x${ref.height}`;
  return 'image matches no decoded frame';
}

/**
 * Check one finished request against the reference. Returns
 * { verdict: 'exact' | 'wrong' | 'refused', error?, expected, returned, frameField: 'present' |
 *   'missing' | 'partial', frames: { exact, wrong }, problems: [text], details: [...] }.
 */
export async function checkRequest(ref, req, outDir, run) {
  const base = { name: req.name, args: req.args, ms: run.ms };
  if (run.code !== 0 || run.timedOut) return { ...base, verdict: 'refused', error: run.error, expected: expectedCount(req), returned: 0, frames: { exact: 0, wrong: 0 }, problems: [], details: [] };
  let manifest;
  try {
    manifest = JSON.parse(await readFile(path.join(outDir, 'frames.json'), 'utf8'));
  } catch (err) {
    return { ...base, verdict: 'wrong', expected: expectedCount(req), returned: 0, frames: { exact: 0, wrong: 0 }, problems: [`no readable frames.json (${err.message})`], details: [] };
  }
  const got = [...(manifest.frames ?? [])].sort((a, b) => a.index - b.index);
  const problems = [];
  const details = [];
  const withField = got.filter((f) => Number.isInteger(f.frame)).length;
  const frameField = withField === got.length ? 'present' : withField === 0 ? 'missing' : 'partial';
  if (frameField !== 'present') problems.push(`frames.json has no \`frame\` field on ${got.length - withField} of ${got.length} frames`);
  // Expected index per returned frame.
  let expected;
  if (req.expect.kind === 'list') {
    expected = req.expect.frames;
    if (got.length !== expected.length) problems.push(`returned ${got.length} frames, expected ${expected.length} (${got.length > expected.length ? '+' : ''}${got.length - expected.length})`);
  } else {
    if (got.length !== req.expect.count) problems.push(`returned ${got.length} frames, expected ${req.expect.count}`);
    // The frames it claims: its `frame` field, else the frame whose time its timestamp is.
    expected = got.map((f) => {
      if (Number.isInteger(f.frame)) return f.frame;
      const i = ref.seconds.findIndex((s) => Math.abs(s - f.timestamp) <= TIME_TOLERANCE + 1e-9);
      return i;
    });
    const claimed = expected.filter((i) => i >= 0 && i < ref.count);
    if (new Set(claimed).size !== claimed.length) problems.push('random frames are not distinct');
    if (claimed.some((v, i) => i > 0 && v <= claimed[i - 1])) problems.push('random frames are not in ascending order');
    const outside = got.filter((f, k) => Number.isInteger(f.frame) && (expected[k] < 0 || expected[k] >= ref.count)).length;
    if (outside > 0) problems.push(`${outside} random frames outside 0..${ref.count - 1}`);
  }
  let exact = 0;
  let wrong = 0;
  const n = Math.min(got.length, expected.length);
  for (let k = 0; k < n; k++) {
    const f = got[k];
    const want = expected[k];
    const notes = [];
    if (want < 0 || want >= ref.count) {
      notes.push(req.expect.kind === 'random' ? `timestamp ${f.timestamp} is no frame's time` : 'no frame on screen at that time');
    } else {
      let img;
      try {
        img = await imageRgbMd5(path.join(outDir, f.file));
      } catch (err) {
        notes.push(`image unreadable (${err.message})`);
      }
      if (img !== undefined && img.md5 !== ref.frames[want].md5) notes.push(describeImage(ref, want, img));
      if (typeof f.timestamp !== 'number') notes.push('no timestamp');
      else if (Math.abs(f.timestamp - ref.seconds[want]) > TIME_TOLERANCE + 1e-9) {
        notes.push(`timestamp ${f.timestamp} vs ${ref.seconds[want].toFixed(6)} (${((f.timestamp - ref.seconds[want]) * 1000).toFixed(3)} ms)`);
      }
      if (req.expect.kind === 'list' && Number.isInteger(f.frame) && f.frame !== want) notes.push(`frame field ${f.frame}`);
    }
    if (notes.length === 0) exact++;
    else {
      wrong++;
      details.push({ position: k, expectedFrame: want, frameField: f.frame, timestamp: f.timestamp, requested: f.requested, file: f.file, notes });
    }
  }
  const countOk = req.expect.kind === 'list' ? got.length === expected.length : got.length === req.expect.count;
  const structural = problems.filter((p) => !p.startsWith('frames.json has no'));
  const verdict = wrong === 0 && countOk && structural.length === 0 ? 'exact' : 'wrong';
  return { ...base, verdict, expected: expectedCount(req), returned: got.length, frameField, frames: { exact, wrong }, problems, details };
}

function expectedCount(req) {
  return req.expect.kind === 'list' ? req.expect.frames.length : req.expect.count;
}

/** One line per problem kind of a checked request (for reports and test failures). */
export function summarize(result, max = 4) {
  if (result.verdict === 'refused') return [`refused: ${result.error}`];
  const lines = [...result.problems];
  const kinds = new Map();
  for (const d of result.details) {
    for (const note of d.notes) {
      const kind = note.replace(/-?\d+(\.\d+)?/g, '#');
      if (!kinds.has(kind)) kinds.set(kind, { example: `#${d.position} (frame ${d.expectedFrame}): ${note}`, n: 0 });
      kinds.get(kind).n++;
    }
  }
  for (const { example, n } of kinds.values()) lines.push(n > 1 ? `${example} [x${n}]` : example);
  return lines.slice(0, max);
}
