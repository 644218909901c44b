import { VdedupError } from '../errors.js';
import { lastAtOrBefore } from '../media/mp4-index.js';

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
  /** The time asked for (for --count: the uniform time of frame i). */
  requested: number;
  /** Time of the frame that is returned: the frame on screen at `requested`. */
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

export interface VideoTiming {
  /** Seconds. */
  duration: number;
  /** Frames per second of the source (average); frame k is shown at k / frameRate. */
  frameRate: number;
  /**
   * The time of every frame, ascending, when the container states them (an MP4 sample table):
   * then frame k is shown at frameTimes[k] and the count is exact, whatever the frame rate does.
   */
  frameTimes?: Float64Array | undefined;
}

/** The frame on screen at time t: the last frame whose time is <= t. */
export function frameTimeAt(t: number, timing: VideoTiming): number {
  if (timing.frameTimes !== undefined) return timing.frameTimes[lastAtOrBefore(timing.frameTimes, t)]!;
  const k = Math.floor(t * timing.frameRate + 1e-6);
  return k / timing.frameRate;
}

/** When frame k (from 0) is shown. */
export function timeOfFrame(k: number, timing: VideoTiming): number {
  return timing.frameTimes !== undefined ? timing.frameTimes[k]! : k / timing.frameRate;
}

/** Number of frames in the video (the last one starts before the end). */
export function frameCountOf(timing: VideoTiming): number {
  if (timing.frameTimes !== undefined) return timing.frameTimes.length;
  return Math.max(1, Math.ceil(timing.duration * timing.frameRate - 1e-6));
}

/**
 * The frames a selection asks for, validated against the video. Rules:
 * - fps F: one frame every 1/F s from 0 (t = k/F, k = 0.. while t < duration), like ffmpeg's
 *   `fps=F:round=up`.
 * - count N: frame indices `floor(i * (frames - 1) / (N - 1))` for i = 0..N-1 (N = 1: the first
 *   frame): first and last frame included, evenly spread. This is LMMs-Eval's
 *   `np.linspace(0, total_frames - 1, N, dtype=int)`; Qwen-VL's loaders round instead of
 *   truncating (`torch.linspace(...).round()`), which can differ by one frame.
 * - at t1,t2,...: the frame on screen at each time, in the order given.
 * - random N, seed S: N distinct frames drawn uniformly (seeded), in time order.
 */
function checkCount(n: number, what: string): void {
  if (!Number.isInteger(n) || n <= 0) throw new VdedupError('INVALID_ARGUMENT', `${what} must be a positive integer, got ${n}`);
  if (n > MAX_FRAMES) throw new VdedupError('INVALID_ARGUMENT', `${what} ${n} is more than the limit of ${MAX_FRAMES} frames`);
}

/** What can be refused before the video is opened (the rest needs its duration: planFrames). */
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

export function planFrames(sel: FrameSelection, timing: VideoTiming): PlannedFrame[] {
  const { duration } = timing;
  if (!(duration > 0)) throw new VdedupError('INVALID_ARGUMENT', 'the video has no known duration');
  const total = frameCountOf(timing);
  const at = (requested: number, index: number): PlannedFrame => ({ index, requested, timestamp: frameTimeAt(requested, timing) });
  switch (sel.mode) {
    case 'fps': {
      checkFps(sel.fps);
      const n = Math.max(1, Math.ceil(duration * sel.fps - 1e-6));
      checkCount(n, `fps ${sel.fps} over ${duration.toFixed(1)} s gives`);
      return Array.from({ length: n }, (_, k) => ({ index: k, requested: k / sel.fps, timestamp: k / sel.fps }));
    }
    case 'count': {
      checkCount(sel.count, 'count');
      if (sel.count > total) {
        throw new VdedupError('INVALID_ARGUMENT', `count ${sel.count} is more than the video's ${total} frames`);
      }
      return Array.from({ length: sel.count }, (_, i) => {
        const frame = sel.count === 1 ? 0 : Math.floor((i * (total - 1)) / (sel.count - 1));
        const t = timeOfFrame(frame, timing);
        return { index: i, requested: t, timestamp: t };
      });
    }
    case 'at': {
      if (sel.timestamps.length === 0) throw new VdedupError('INVALID_ARGUMENT', 'no timestamps given');
      checkCount(sel.timestamps.length, 'timestamps');
      for (const t of sel.timestamps) {
        if (!(t >= 0)) throw new VdedupError('INVALID_ARGUMENT', `timestamp ${t} is before the start of the video`);
        if (t >= duration) {
          throw new VdedupError('INVALID_ARGUMENT', `timestamp ${t} s is at or after the end of the video (${duration.toFixed(3)} s)`);
        }
      }
      return sel.timestamps.map(at);
    }
    case 'random': {
      checkCount(sel.count, 'random count');
      if (sel.count > total) throw new VdedupError('INVALID_ARGUMENT', `random count ${sel.count} is more than the video's ${total} frames`);
      const rnd = seededRandom(sel.seed);
      const chosen = new Set<number>();
      while (chosen.size < sel.count) chosen.add(Math.floor(rnd() * total));
      return [...chosen].sort((a, b) => a - b).map((frame, i) => {
        const t = timeOfFrame(frame, timing);
        return { index: i, requested: t, timestamp: t };
      });
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
