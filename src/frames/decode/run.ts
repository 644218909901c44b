import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Target } from '../plan.js';
import { readPpmStream, type RgbFrame } from '../ppm.js';
import { absoluteTime, parseShowinfo, type FrameTimeline } from '../timeline.js';
import { ffmpegBinary } from '../../media/binaries.js';
import { fileUrl, INPUT_PROTOCOL_ARGS } from '../../media/input.js';
import { classifyMediaFailure, looksLikeMp4 } from '../../media/probe.js';
import { spawnMedia, stderrSummary } from '../../media/process.js';
import { VdedupError } from '../../errors.js';

/**
 * One ffmpeg process of frame extraction, the run that seeks (`seeks.ts`) and passes (`pass.ts`)
 * are made of. Every run selects frames by what the timeline says they are, and every frame it
 * writes is proven: showinfo reports the decoded frame's presentation time, which must be the
 * time of the frame asked for, or the run stops (`FrameMismatch`). A seek that cannot prove its
 * frame is tried again from an earlier keyframe, then from the start of the file; a pass over the
 * whole file also proves the frame count. What still disagrees means the timeline was wrong
 * (`TimelineMismatch`): the caller decodes the timeline and starts again.
 */

export interface RunInput {
  /** The file, as ffmpeg reads it. */
  absolutePath: string;
  /** ffmpeg's index of the video stream. */
  streamIndex: number;
  /** Instead of the file: an MP4 stream of some of its samples (times kept), fed on stdin. */
  subset?: () => AsyncIterable<Buffer>;
}

export interface RunOptions {
  /** The video as the user named it (errors). */
  file: string;
  /** A filter appended after the selection (scaling). */
  scale: string | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  /** Decoder threads per process. */
  threads: number;
}

/** A decoded frame disagreed with the timeline, after `delivered` targets had been proven. */
export class FrameMismatch extends Error {
  constructor(
    readonly delivered: number,
    message: string,
  ) {
    super(message);
  }
}

/** The timeline disagrees with the decoder even on a decode from the start of the file. */
export class TimelineMismatch extends Error {}

const baseArgs = ['-nostdin', '-hide_banner', '-nostats', '-loglevel', 'level+info'];
// 8-bit RGB whatever the source: ffmpeg would otherwise write 16-bit PPM for 10-bit video.
const outArgs = ['-an', '-sn', '-dn', '-fps_mode', 'passthrough', '-pix_fmt', 'rgb24', '-f', 'image2pipe', '-c:v', 'ppm', 'pipe:1'];
const BAD_DATA = /Invalid data found when processing input|could not find codec parameters|moov atom not found|partial file|Invalid dimensions|Picture size \d+x\d+ is invalid/i;
const DECODE_ERROR = /\] \[(?:error|fatal)\] /;

/** Numbers in a filter expression: exact round-trip decimals, infinities as huge numbers. */
function num(x: number): string {
  if (x === Infinity) return '1e300';
  if (x === -Infinity) return '-1e300';
  return String(x);
}

/**
 * A select expression true when `variable` lies in one of the sorted, disjoint intervals
 * [lo, hi): a balanced tree of `if`s, so each frame costs a logarithmic number of comparisons
 * (ffmpeg evaluates only the branch taken) and the nesting stays shallow.
 */
export function intervalSelect(variable: string, intervals: Array<[number, number]>): string {
  const tree = (a: number, b: number): string => {
    if (a >= b) return '0';
    const m = (a + b) >> 1;
    const [lo, hi] = intervals[m]!;
    return `if(lt(${variable},${num(lo)}),${tree(a, m)},if(lt(${variable},${num(hi)}),1,${tree(m + 1, b)}))`;
  };
  return tree(0, intervals.length);
}

/** Whether a decoded pts (ticks of the filter's time base) is frame `frame`'s time. */
function samePts(timeline: FrameTimeline, frame: number, pts: number, tb: { num: number; den: number }): boolean {
  const t = timeline.timeBase;
  if (tb.num === t.num && tb.den === t.den) return pts === timeline.pts[frame];
  // Another time base: equal within half of the coarser tick.
  const half = Math.max(t.num / t.den, tb.num / tb.den) / 2;
  return Math.abs((pts * tb.num) / tb.den - absoluteTime(timeline, frame)) < half;
}

/** What one input of a run decodes: from a keyframe (or the file's start), the frames it selects. */
export interface Segment<T> {
  /** The keyframe to seek to, or undefined to decode from the start of the file. */
  seekFrame: number | undefined;
  /** Frames expected out of it, in order: the targets, then (a pass) the last frame. */
  expected: Array<Target<T> | { frame: number; asks: [] }>;
  select: string;
  /** Extra input options (skip non-keyframes for --fast). */
  inputOptions: string[];
}

export interface RunSpec<T> {
  /** Each segment is one input of the process, decoded in turn (several seeks, one process start). */
  segments: Array<Segment<T>>;
  /** Seeks stop each segment after its expected frames; a pass reads to the end (the count is proven). */
  stopAfterExpected: boolean;
  /** A decode error means a frame is not proven (seeks: the reference frames may be missing). */
  errorsRefute: boolean;
}

/**
 * One ffmpeg process: decode each segment, select, and prove each frame before handing it on.
 * Throws FrameMismatch (with how many expected frames, counted over the segments in order, were
 * proven and handed on) when a frame is not the one expected, a decode error refutes it, or frames
 * are missing or extra.
 */
export async function runDecoder<T>(input: RunInput, timeline: FrameTimeline, spec: RunSpec<T>, o: RunOptions, dir: string, onFrame: (asks: T[], frame: RgbFrame) => Promise<void>): Promise<void> {
  const { segments } = spec;
  const stream = input.subset === undefined ? input.streamIndex : 0;
  // Each segment: select, stop after its frames (seeks), report every frame kept (showinfo@s<j>).
  const branches = segments.map((seg, j) => {
    const stop = spec.stopAfterExpected ? `,trim=end_frame=${seg.expected.length}` : '';
    return `[${j}:${stream}]select='${seg.select}'${stop},showinfo@s${j}=checksum=0[s${j}]`;
  });
  const joined = segments.length === 1 ? '[s0]' : `${segments.map((_, j) => `[s${j}]`).join('')}concat=n=${segments.length}:v=1:a=0`;
  const script = path.join(dir, `graph-${Math.random().toString(36).slice(2)}.txt`);
  await writeFile(script, `${branches.join(';')};${joined}${o.scale === undefined ? (segments.length === 1 ? 'null' : '') : `${segments.length === 1 ? '' : ','}${o.scale}`}[out]`);
  const inputs = segments.flatMap((seg) => {
    const seek = seg.seekFrame === undefined || seg.seekFrame === 0 ? [] : ['-seek_timestamp', '1', '-ss', (Math.ceil(absoluteTime(timeline, seg.seekFrame) * 1e6) / 1e6).toFixed(6), '-noaccurate_seek'];
    const source = input.subset === undefined ? ['-i', fileUrl(input.absolutePath)] : ['-f', 'mov', '-i', 'pipe:0'];
    return ['-threads', String(o.threads), ...seg.inputOptions, ...seek, ...INPUT_PROTOCOL_ARGS, ...source];
  });
  const args = [...baseArgs, '-copyts', ...inputs, '-filter_complex_script', script, '-map', '[out]', ...outArgs];
  // Output frame k comes from segment segmentOf[k], as its placeOf[k]-th frame.
  const expected = segments.flatMap((seg) => seg.expected);
  const segmentOf = segments.flatMap((seg, j) => seg.expected.map(() => j));
  const placeOf = segments.flatMap((seg) => seg.expected.map((_, m) => m));
  // showinfo's reports per segment, as stderr brings them (segments may report out of turn).
  const reports = segments.map(() => [] as number[]);
  const timeBases: Array<{ num: number; den: number } | undefined> = segments.map(() => undefined);
  let decodeError: string | undefined;
  let rest = '';
  let wake: (() => void) | undefined;
  const onStderr = (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      const report = parseShowinfo(line);
      const j = Number(report?.instance?.slice(1));
      if (report !== undefined && Number.isInteger(j) && j < segments.length) {
        if ('timeBase' in report) timeBases[j] ??= report.timeBase;
        else reports[j]!.push(report.pts);
      } else if (DECODE_ERROR.test(line)) decodeError ??= line.replace(/^.*?\] \[\w+\] /, '');
    }
    wake?.();
  };
  const proc = spawnMedia(ffmpegBinary().path, args, { file: o.file, signal: o.signal, timeoutMs: o.timeoutMs, stdin: input.subset?.(), onStderr });
  let ended = false;
  void proc.exited
    .catch(() => undefined)
    .finally(() => {
      ended = true;
      wake?.();
    });
  const reported = async (j: number, m: number) => {
    while (reports[j]!.length <= m && !ended) await new Promise<void>((resolve) => (wake = resolve));
    return reports[j]![m];
  };
  const check = async (k: number) => {
    const want = expected[k];
    if (want === undefined) throw new FrameMismatch(k, `a frame beyond the ${expected.length} expected`);
    const j = segmentOf[k]!;
    const pts = await reported(j, placeOf[k]!);
    const timeBase = timeBases[j];
    if (pts === undefined || timeBase === undefined) throw new FrameMismatch(k, `no presentation time reported for frame ${want.frame}`);
    if (!samePts(timeline, want.frame, pts, timeBase)) {
      const got = (pts * timeBase.num) / timeBase.den - timeline.start;
      throw new FrameMismatch(k, `frame ${want.frame} should be at ${timeline.times[want.frame]!.toFixed(6)} s, the decoder gave the frame at ${got.toFixed(6)} s`);
    }
    if (spec.errorsRefute && decodeError !== undefined) throw new FrameMismatch(k, `decode error before frame ${want.frame}: ${decodeError}`);
  };
  let k = 0;
  const inFlight = new Set<Promise<void>>();
  try {
    for await (const frame of readPpmStream(proc.stdout)) {
      await check(k);
      const asks = expected[k]!.asks as T[];
      k++;
      if (asks.length === 0) continue;
      // Encode up to two frames while ffmpeg decodes the next: sharp works on its own threads.
      const p: Promise<void> = onFrame(asks, frame).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= 2) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } catch (err) {
    await Promise.allSettled(inFlight);
    proc.kill();
    await proc.exited.catch(() => undefined);
    if (err instanceof FrameMismatch || err instanceof VdedupError) throw err;
    throw new VdedupError('FFMPEG_FAILED', `reading frames failed: ${(err as Error).message}`, { file: o.file });
  }
  const exit = await proc.exited;
  if (exit.code !== 0) {
    // A seek that fails is not the file's fault until a decode from the start fails too.
    if (segments.some((seg) => seg.seekFrame !== undefined)) throw new FrameMismatch(k, `ffmpeg failed after a seek: ${stderrSummary(exit.stderr)}`);
    // Damaged or impossible media is the input's fault (no retry helps); anything else is ffmpeg's.
    if (BAD_DATA.test(exit.stderr)) throw classifyMediaFailure(exit.stderr, o.file, await looksLikeMp4(input.absolutePath).catch(() => false));
    throw new VdedupError('FFMPEG_FAILED', `ffmpeg failed: ${stderrSummary(exit.stderr) || `exit ${exit.code}`}`, { file: o.file });
  }
  if (k < expected.length) {
    const want = expected[k]!.frame;
    throw new FrameMismatch(k, `the decoder gave ${k} of ${expected.length} frames (frame ${want} at ${timeline.times[want]!.toFixed(6)} s missing)`);
  }
}

/** Selection windows around frames' times: half-way to their neighbours, in the demuxer's seconds. */
export function timeWindows(timeline: FrameTimeline, frames: number[]): Array<[number, number]> {
  const last = timeline.pts.length - 1;
  return frames.map((f) => {
    const t = absoluteTime(timeline, f);
    const lo = f > 0 ? (absoluteTime(timeline, f - 1) + t) / 2 : -Infinity;
    const hi = f < last ? (t + absoluteTime(timeline, f + 1)) / 2 : Infinity;
    return [lo, hi];
  });
}

/** Merge touching intervals (adjacent frames) so the expression stays small. */
export function merged(intervals: Array<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const iv of intervals) {
    const prev = out.at(-1);
    if (prev !== undefined && iv[0] <= prev[1]) prev[1] = Math.max(prev[1], iv[1]);
    else out.push([iv[0], iv[1]]);
  }
  return out;
}

/** A scratch folder for filter scripts, removed after `fn`. */
export async function withScratch<R>(fn: (dir: string) => Promise<R>): Promise<R> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vdedup-frames-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
