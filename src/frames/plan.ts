import { VdedupError } from '../errors.js';
import { uniformFrameIndices } from './linspace.js';
import { frameAt, keyframeAtOrBefore, type FrameTimeline } from './timeline.js';

/**
 * What to decode, decided without decoding: the frames a selection asks for on the video's frame
 * list, and how to reach them (seeks or one pass, and how seeks are shared over processes). No
 * I/O here: the decode modules (`decode/`) carry the plan out.
 */

/** How frames are chosen. All times are seconds from the start of the video. */
export type FrameSelection =
  | { mode: 'fps'; fps: number }
  | { mode: 'count'; count: number }
  | { mode: 'at'; timestamps: number[] }
  | { mode: 'random'; count: number; seed: number };

/** Upper bound on frames per request: beyond this a request is a mistake, not a workload. */
export const MAX_FRAMES = 100_000;
/**
 * Bounds of an fps selection: one frame per 10,000 s at the slowest (below that ffmpeg's fps
 * filter rounds the rate to nothing and returns no frame at all), 1000 per second at the fastest.
 */
export const MIN_FPS = 1e-4;
export const MAX_FPS = 1000;

function checkFps(fps: number): void {
  if (!(fps > 0) || !Number.isFinite(fps)) throw new VdedupError('INVALID_ARGUMENT', `fps must be a positive number, got ${fps}`);
  if (fps < MIN_FPS || fps > MAX_FPS) throw new VdedupError('INVALID_ARGUMENT', `fps must be between ${MIN_FPS} (one frame per ${1 / MIN_FPS} s) and ${MAX_FPS}, got ${fps}`);
}

export interface PlannedFrame {
  /** Position in the output (0-based). */
  index: number;
  /** The time asked for (for --count and --random: the time of the frame chosen). */
  requested: number;
  /** The frame returned: its index among the video's frames, and its time (seconds from the first frame). */
  frame: number;
  timestamp: number;
}

/** "12.5", "75", "1:02", "00:01:02.500" -> seconds. */
export function parseTimestamp(text: string): number {
  const s = text.trim();
  const m = /^(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d+)?)$/.exec(s);
  if (m === null) throw new VdedupError('INVALID_ARGUMENT', `"${text}" is not a timestamp (seconds, or [hh:]mm:ss[.ms])`);
  const parts = [m[1], m[2], m[3]].filter((p): p is string => p !== undefined).map(Number);
  let seconds = 0;
  for (const p of parts) seconds = seconds * 60 + p;
  if (parts.length > 1 && parts.slice(1).some((p) => p >= 60)) {
    throw new VdedupError('INVALID_ARGUMENT', `"${text}": minutes and seconds must be below 60`);
  }
  return seconds;
}

/** mulberry32: small, seedable, full 32-bit output; the same seed gives the same frames everywhere. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function checkCount(n: number, what: string): void {
  if (!Number.isInteger(n) || n <= 0) throw new VdedupError('INVALID_ARGUMENT', `${what} must be a positive integer, got ${n}`);
  if (n > MAX_FRAMES) throw new VdedupError('INVALID_ARGUMENT', `${what} ${n} is more than the limit of ${MAX_FRAMES} frames`);
}

/** What can be refused before the video is opened (the rest needs its frames: planFrames). */
export function checkSelection(sel: FrameSelection): FrameSelection {
  switch (sel.mode) {
    case 'fps':
      checkFps(sel.fps);
      break;
    case 'count':
      checkCount(sel.count, 'count');
      break;
    case 'random':
      checkCount(sel.count, 'random count');
      break;
    case 'at':
      if (sel.timestamps.length === 0) throw new VdedupError('INVALID_ARGUMENT', 'no timestamps given');
      checkCount(sel.timestamps.length, 'timestamps');
      for (const t of sel.timestamps) if (!(t >= 0)) throw new VdedupError('INVALID_ARGUMENT', `timestamp ${t} is before the start of the video`);
      break;
  }
  return sel;
}

/**
 * The frames a selection asks for, validated against the video's frames (times in seconds from
 * the first frame). Rules:
 * - fps F: for k = 0, 1, ... while k/F is before the end of the last frame, the frame on screen at
 *   k/F (the last frame whose time is <= k/F).
 * - count N: frame indices `np.linspace(0, T - 1, N, dtype=int)` over the T frames, exactly as numpy
 *   computes it (LMMs-Eval's rule; first and last frame included). Qwen-VL's loaders round
 *   instead of truncating (`torch.linspace(...).round()`), which can differ by one frame.
 * - at t1,t2,...: the frame on screen at each time, in the order given.
 * - random N, seed S: N distinct frames drawn uniformly (seeded), in time order.
 */
export function planFrames(sel: FrameSelection, timeline: FrameTimeline): PlannedFrame[] {
  const { duration, times } = timeline;
  const total = times.length;
  const atFrame = (index: number, requested: number, frame: number): PlannedFrame => ({ index, requested, frame, timestamp: times[frame]! });
  checkSelection(sel);
  switch (sel.mode) {
    case 'fps': {
      const { fps } = sel;
      const n = Math.max(1, Math.ceil(duration * fps - 1e-6));
      checkCount(n, `fps ${fps} over ${duration.toFixed(1)} s gives`);
      return Array.from({ length: n }, (_, k) => atFrame(k, k / fps, frameAt(timeline, k / fps)));
    }
    case 'count': {
      const { count } = sel;
      if (count > total) throw new VdedupError('INVALID_ARGUMENT', `count ${count} is more than the video's ${total} frames`);
      return uniformFrameIndices(total, count).map((frame, i) => atFrame(i, times[frame]!, frame));
    }
    case 'at': {
      const { timestamps } = sel;
      for (const t of timestamps) {
        if (t >= duration) {
          throw new VdedupError('INVALID_ARGUMENT', `timestamp ${t} s is at or after the end of the video (${duration.toFixed(3)} s)`);
        }
      }
      return timestamps.map((t, i) => atFrame(i, t, frameAt(timeline, t)));
    }
    case 'random': {
      const { count, seed } = sel;
      if (count > total) throw new VdedupError('INVALID_ARGUMENT', `random count ${count} is more than the video's ${total} frames`);
      const rnd = seededRandom(seed);
      const chosen = new Set<number>();
      while (chosen.size < count) chosen.add(Math.floor(rnd() * total));
      return [...chosen].sort((a, b) => a - b).map((frame, i) => atFrame(i, times[frame]!, frame));
    }
  }
}

export function intOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new VdedupError('INVALID_ARGUMENT', `--${name} must be an integer, got "${v}"`);
  return n;
}

/** The selection a request names: exactly one of fps, count, at (comma-separated), random (+ seed). */
export function selectionFromOptions(o: { fps?: string; count?: string; at?: string; random?: string; seed?: string }): FrameSelection {
  const given = [o.fps, o.count, o.at, o.random].filter((v) => v !== undefined).length;
  if (given !== 1) throw new VdedupError('INVALID_ARGUMENT', 'give exactly one of --fps, --count, --at, --random');
  if (o.fps !== undefined) return checkSelection({ mode: 'fps', fps: Number(o.fps) });
  if (o.count !== undefined) return checkSelection({ mode: 'count', count: intOption('count', o.count)! });
  if (o.random !== undefined) return checkSelection({ mode: 'random', count: intOption('random', o.random)!, seed: intOption('seed', o.seed ?? '0')! });
  return checkSelection({ mode: 'at', timestamps: o.at!.split(',').filter((s) => s.trim() !== '').map(parseTimestamp) });
}

/** How frames are reached: seeking to each stretch of them, or one decoding pass over the video. */
export type Strategy = 'single-pass' | 'seek';

/** A frame to decode and who asked for it (the caller's handle, passed back with the frame). */
export interface Target<T> {
  frame: number;
  asks: T[];
}

/**
 * The frames a plan needs decoded, each once with the plan entries that ask for it, in frame
 * order. With `keyframesOnly` (--fast) each entry becomes the keyframe at or before its frame, and
 * says so (`frame`, `timestamp`).
 */
export function frameTargets(timeline: FrameTimeline, plan: PlannedFrame[], keyframesOnly: boolean): Array<Target<PlannedFrame>> {
  const byFrame = new Map<number, PlannedFrame[]>();
  for (const p of plan) {
    const frame = keyframesOnly ? keyframeAtOrBefore(timeline, p.frame) : p.frame;
    const entry = { ...p, frame, timestamp: timeline.times[frame]! };
    const asks = byFrame.get(frame);
    if (asks === undefined) byFrame.set(frame, [entry]);
    else asks.push(entry);
  }
  return [...byFrame.entries()].sort((a, b) => a[0] - b[0]).map(([frame, asks]) => ({ frame, asks }));
}

/**
 * Targets grouped into runs that one seek decodes: a new run starts where a keyframe lies
 * between two targets (seeking there is cheaper than decoding on).
 */
export function seekRuns<T>(timeline: FrameTimeline, targets: Array<Target<T>>): Array<Array<Target<T>>> {
  const runs: Array<Array<Target<T>>> = [];
  for (const t of targets) {
    const current = runs.at(-1);
    if (current !== undefined && keyframeAtOrBefore(timeline, t.frame) <= current.at(-1)!.frame) current.push(t);
    else runs.push([t]);
  }
  return runs;
}

/**
 * Seek to each frame or decode once, whichever decodes less. A seek decodes from the keyframe at
 * or before its frame (frames in one stretch between keyframes share a seek) and starts a process;
 * a pass decodes every frame. SEEK_COST is what a decoded frame costs in a seek against one in a
 * pass (a fresh decoder per seek, fewer threads busy: bench/README.md, "How frames are found");
 * PROCESS_START_PIXELS is an ffmpeg start in units of decoded pixels (a start costs as much as
 * decoding that many), so small videos seek less.
 */
export const SEEK_COST = 1.2;
export const PROCESS_START_PIXELS = 8e7;

export function chooseStrategy(timeline: FrameTimeline, frames: number[], pixels: number): Strategy {
  const start = PROCESS_START_PIXELS / Math.max(1, pixels);
  let seek = 0;
  for (const run of seekRuns(timeline, [...new Set(frames)].sort((a, b) => a - b).map((frame) => ({ frame, asks: [] })))) {
    seek += start + run.at(-1)!.frame - keyframeAtOrBefore(timeline, run[0]!.frame) + 1;
  }
  return seek * SEEK_COST < timeline.pts.length + start ? 'seek' : 'single-pass';
}

/** The strategy for decoding `frames`: `forced` if given, else `chooseStrategy`; always a pass when frames share a time. */
export function strategyFor(timeline: FrameTimeline, frames: number[], pixels: number, forced: Strategy | undefined): Strategy {
  // Frames that share a time can only be told apart by counting them in a pass.
  if (!timeline.distinct) return 'single-pass';
  return forced ?? chooseStrategy(timeline, frames, pixels);
}

/** Decoders one seeking process holds at once: about 256 MB of pictures (ten frames each), 16 at most. */
export function segmentsPerProcess(pixels: number): number {
  return Math.max(1, Math.min(16, Math.floor(256e6 / (Math.max(1, pixels) * 1.5 * 10))));
}

/**
 * Runs shared over processes so that each decodes about as many frames: the costliest run first,
 * each to the least loaded process (longest processing time first); each share in time order.
 */
export function shareRuns<T>(timeline: FrameTimeline, runs: Array<Array<Target<T>>>, processes: number): Array<Array<Array<Target<T>>>> {
  const shares = Array.from({ length: Math.max(1, Math.min(processes, runs.length)) }, () => ({ load: 0, runs: [] as Array<Array<Target<T>>> }));
  const cost = (r: Array<Target<T>>) => r.at(-1)!.frame - keyframeAtOrBefore(timeline, r[0]!.frame) + 1;
  for (const r of [...runs].sort((a, b) => cost(b) - cost(a) || a[0]!.frame - b[0]!.frame)) {
    const least = shares.reduce((best, s) => (s.load < best.load ? s : best));
    least.load += cost(r);
    least.runs.push(r);
  }
  return shares.map((s) => s.runs.sort((a, b) => a[0]!.frame - b[0]!.frame)).filter((rs) => rs.length > 0);
}

/**
 * The seeking processes for `targets`: each is the runs it reads as the inputs of one command.
 * Runs are shared over `processes` (`shareRuns`), and a share with more runs than a process holds
 * decoders for (`segmentsPerProcess`) is cut into several processes.
 */
export function seekBatches<T>(timeline: FrameTimeline, targets: Array<Target<T>>, processes: number, pixels: number): Array<Array<Array<Target<T>>>> {
  const perProcess = segmentsPerProcess(pixels);
  return shareRuns(timeline, seekRuns(timeline, targets), processes).flatMap((share) => chunks(share, perProcess));
}

function chunks<X>(items: X[], size: number): X[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}
