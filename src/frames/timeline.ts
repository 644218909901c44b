import { ffmpegBinary, ffprobeBinary } from '../media/binaries.js';
import { fileUrl, INPUT_PROTOCOL_ARGS } from '../media/input.js';
import { type SampleTable } from '../media/mp4/sample-table.js';
import { classifyMediaFailure, looksLikeMp4, type ProbeResult } from '../media/probe.js';
import { spawnMedia } from '../media/process.js';
import { VdedupError } from '../errors.js';

/**
 * A video's frames, as this project defines them: the frames ffmpeg's decoder outputs for the first
 * video stream (`-fps_mode passthrough`), after edit lists and discards, in presentation order.
 * Frame i is the i-th of them; time 0 is the first frame's presentation time.
 *
 * Where the list comes from decides how far it is trusted:
 * - `mp4-sample-table`: an MP4/MOV sample table that the in-process reader states exactly (it
 *   refuses edits, descriptions and references it cannot state).
 * - `packets`: a demux-only packet scan (no decoding): every packet the demuxer does not mark as
 *   discarded is a frame at its presentation time. True for the containers and codecs users have,
 *   but not a proof: a decoder may drop a frame it cannot decode (an open GOP at the very start).
 * - `decoded`: a full decode by ffprobe, the definition itself; used when a decode shows that one
 *   of the other two was wrong.
 * Every frame that extraction writes is checked against this list by its decoded presentation
 * time, and a pass over the whole file also checks the count, so a wrong list is found, not used.
 */
export interface FrameTimeline {
  source: 'mp4-sample-table' | 'packets' | 'decoded';
  /** Seconds per pts tick, as a fraction. */
  timeBase: { num: number; den: number };
  /** Presentation time of every frame in ticks of `timeBase`, ascending, as the demuxer gives it. */
  pts: Float64Array;
  /** Time of every frame in seconds from the first frame. */
  times: Float64Array;
  /**
   * False when two decoded frames share a presentation time (a decode of some damaged or oddly
   * edited files gives that): their times cannot tell them apart, so only a pass that counts
   * frames can return them.
   */
  distinct: boolean;
  /** Indices of the frames that are keyframes (a decode can start there), ascending. */
  keyframes: Uint32Array;
  /** Seconds from the first frame to the end of the last. */
  duration: number;
  /** The first frame's presentation time in seconds, as the demuxer gives it (seek positions). */
  start: number;
}

/** Frames beyond this are not held in memory (4.6 days at 50 fps). */
export const MAX_TIMELINE_FRAMES = 20_000_000;

function build(
  source: FrameTimeline['source'],
  timeBase: { num: number; den: number },
  entries: Array<{ pts: number; key: boolean; duration: number }>,
  file: string,
): FrameTimeline {
  if (entries.length === 0) throw new VdedupError('NO_FRAMES', 'the video stream holds no frame', { file });
  // Packets come in decode order; decoded frames come in the order that defines their numbers.
  if (source !== 'decoded') entries.sort((a, b) => a.pts - b.pts);
  const tick = timeBase.num / timeBase.den;
  const pts = Float64Array.from(entries, (e) => e.pts);
  const first = pts[0]!;
  // Ticks times num over den (not times a rounded tick): 35 ticks of 1/25 s are 1.4 s, not 1.4000000000000001.
  const times = Float64Array.from(entries, (e) => ((e.pts - first) * timeBase.num) / timeBase.den);
  let distinct = true;
  for (let i = 1; i < pts.length; i++) {
    if (pts[i]! > pts[i - 1]!) continue;
    const at = `${(pts[i]! * tick).toFixed(6)} s`;
    // A packet list with two frames at one time cannot say which the decoder shows first.
    if (source !== 'decoded') throw new TimelineUnstated(`two frames at the same time (${at})`);
    if (pts[i]! < pts[i - 1]!) throw new TimelineUnstated(`frame ${i} before the frame it follows (${at})`);
    distinct = false;
  }
  const keys: number[] = [];
  entries.forEach((e, i) => e.key && keys.push(i));
  // A stream whose first frame is not a keyframe still decodes from its start.
  if (keys[0] !== 0) keys.unshift(0);
  const last = entries.at(-1)!;
  // The last frame lasts what the stream says, or the median interval when it says nothing.
  let lastDuration = last.duration * tick;
  if (!(lastDuration > 0)) lastDuration = medianInterval(times);
  return { source, timeBase, pts, times, distinct, keyframes: Uint32Array.from(keys), duration: times.at(-1)! + lastDuration, start: (first * timeBase.num) / timeBase.den };
}

function medianInterval(times: Float64Array): number {
  if (times.length < 2) return 1 / 25;
  const gaps = Float64Array.from({ length: times.length - 1 }, (_, i) => times[i + 1]! - times[i]!).sort();
  return gaps[gaps.length >> 1]!;
}

/** Thrown when a source cannot state the frames exactly: the caller asks the next source. */
export class TimelineUnstated extends Error {}

/** The frames of an MP4 sample table that `readSampleTable` stated exactly. */
export function timelineFromSampleTable(table: SampleTable): FrameTimeline {
  const n = table.frameTimes.length;
  const frameOfSample = new Uint32Array(n);
  for (let k = 0; k < n; k++) frameOfSample[table.sampleOfFrame[k]!] = k;
  const keys: number[] = [];
  for (let s = 0; s < n; s++) if (table.syncSamples[s] === 1) keys.push(frameOfSample[s]!);
  keys.sort((a, b) => a - b);
  if (keys[0] !== 0) keys.unshift(0);
  const pts = Float64Array.from(table.sampleOfFrame, (s) => table.presentationUnits[s]! - table.editStart);
  const tick = 1 / table.timescale;
  return {
    source: 'mp4-sample-table',
    distinct: true,
    timeBase: { num: 1, den: table.timescale },
    pts,
    times: Float64Array.from(pts, (p) => (p - pts[0]!) / table.timescale),
    keyframes: Uint32Array.from(keys),
    duration: table.duration - pts[0]! * tick,
    start: pts[0]! * tick,
  };
}

/** `key=value|key=value` lines of ffprobe's compact writer, one record a line. */
async function* compactRecords(args: string[], video: MediaFile, signal: AbortSignal | undefined): AsyncGenerator<Map<string, string>> {
  const file = video.file;
  const proc = spawnMedia(ffprobeBinary().path, args, { file, signal });
  let rest = '';
  let records = 0;
  const parse = (line: string) => new Map(line.split('|').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]));
  try {
    proc.stdout.setEncoding('utf8');
    for await (const chunk of proc.stdout as AsyncIterable<string>) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        if (line === '') continue;
        if (++records > MAX_TIMELINE_FRAMES + 16) throw new VdedupError('INVALID_MEDIA', `more than ${MAX_TIMELINE_FRAMES} frames`, { file });
        yield parse(line);
      }
    }
  } catch (err) {
    proc.kill();
    await proc.exited.catch(() => undefined);
    throw err;
  }
  if (rest !== '') yield parse(rest);
  const exit = await proc.exited;
  if (exit.code !== 0) throw classifyMediaFailure(exit.stderr, file, await looksLikeMp4(video.absolutePath).catch(() => false));
}

function parseTimeBase(text: string | undefined): { num: number; den: number } | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(text ?? '');
  if (m === null || Number(m[1]) <= 0 || Number(m[2]) <= 0) return undefined;
  return { num: Number(m[1]), den: Number(m[2]) };
}

/** A video file: as the user named it (errors), and where it is. */
export interface MediaFile {
  file: string;
  absolutePath: string;
}

/**
 * The frames of a video stream (`stream`: ffprobe's stream specifier, e.g. its index or `v:0`)
 * from a demux-only scan of its packets: each packet the demuxer does not flag as discarded (edit
 * lists) is one frame at its presentation time. Refused (TimelineUnstated) when a packet has no
 * presentation time or two share one. Also says which stream it read.
 */
export async function packetTimeline(video: MediaFile, stream: string, signal?: AbortSignal): Promise<{ timeline: FrameTimeline; streamIndex: number }> {
  const args = [
    '-v', 'error', ...INPUT_PROTOCOL_ARGS, '-select_streams', stream,
    '-show_entries', 'packet=pts,duration,flags:stream=index,time_base', '-of', 'compact=p=0', fileUrl(video.absolutePath),
  ];
  const entries: Array<{ pts: number; key: boolean; duration: number }> = [];
  let timeBase: { num: number; den: number } | undefined;
  let streamIndex = -1;
  for await (const r of compactRecords(args, video, signal)) {
    if (r.has('time_base')) {
      timeBase = parseTimeBase(r.get('time_base'));
      streamIndex = Number(r.get('index'));
      continue;
    }
    const flags = r.get('flags') ?? '';
    if (flags.includes('D')) continue;
    const pts = Number(r.get('pts'));
    if (!Number.isFinite(pts)) throw new TimelineUnstated('a video packet without a presentation time');
    const duration = Number(r.get('duration'));
    entries.push({ pts, key: flags.startsWith('K'), duration: Number.isFinite(duration) ? duration : 0 });
  }
  if (timeBase === undefined) throw new TimelineUnstated('no time base');
  return { timeline: build('packets', timeBase, entries, video.file), streamIndex };
}

/**
 * The frames of a probed video from a full decode by ffmpeg itself: the definition, at the cost of
 * decoding every frame. Each frame passes through the same command line as a frame extraction
 * (timestamps kept) into showinfo, which reports the time and keyframe flag the filters see,
 * including for frames a decoder flushes at the end without a time of their own (ffmpeg dates
 * them from the packets).
 */
export async function decodedTimeline(probe: ProbeResult, signal?: AbortSignal): Promise<FrameTimeline> {
  const file = probe.file;
  const args = [
    '-nostdin', '-hide_banner', '-nostats', '-loglevel', 'level+info', '-copyts', ...INPUT_PROTOCOL_ARGS, '-i', fileUrl(probe.absolutePath),
    '-map', `0:${probe.video.index}`, '-vf', 'showinfo=checksum=0', '-fps_mode', 'passthrough', '-f', 'null', '-',
  ];
  const entries: Array<{ pts: number; key: boolean; duration: number }> = [];
  let timeBase: { num: number; den: number } | undefined;
  let failure: VdedupError | undefined;
  let rest = '';
  const proc = spawnMedia(ffmpegBinary().path, args, {
    file,
    signal,
    onStderr: (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        const report = parseShowinfo(line);
        if (report === undefined || failure !== undefined) continue;
        if ('timeBase' in report) timeBase ??= report.timeBase;
        else if (!Number.isFinite(report.pts)) failure = new VdedupError('NO_FRAMES', `decoded frame ${entries.length} has no presentation time`, { file });
        else if (entries.length >= MAX_TIMELINE_FRAMES) failure = new VdedupError('INVALID_MEDIA', `more than ${MAX_TIMELINE_FRAMES} frames`, { file });
        else entries.push({ pts: report.pts, key: report.key, duration: 0 });
        if (failure !== undefined) proc.kill();
      }
    },
  });
  const exit = await proc.exited;
  if (failure !== undefined) throw failure;
  if (exit.code !== 0) throw classifyMediaFailure(exit.stderr, file, await looksLikeMp4(probe.absolutePath).catch(() => false));
  if (timeBase === undefined) throw new VdedupError('NO_FRAMES', 'the decoder gives no frame', { file });
  // The last frame lasts the median interval (showinfo does not say how long a frame lasts).
  try {
    return build('decoded', timeBase, entries, file);
  } catch (err) {
    if (err instanceof TimelineUnstated) throw new VdedupError('INVALID_MEDIA', `the decoder gives ${err.message}`, { file });
    throw err;
  }
}

const SHOWINFO = /\[(?:Parsed_showinfo_\d+|showinfo@(\w+)) @ [^\]]+\] \[info\] (?:n:\s*\d+\s+pts:\s*(-?\d+|NOPTS)\b.*?\biskey:(\d)|config in time_base: (\d+)\/(\d+))/;

/**
 * A showinfo line on ffmpeg's stderr (at `-loglevel level+info`): a frame's pts and keyframe flag,
 * or the filter's time base; `instance` is the filter's name after `showinfo@`, if it has one.
 */
export function parseShowinfo(line: string): ({ pts: number; key: boolean } | { timeBase: { num: number; den: number } }) & { instance: string | undefined } | undefined {
  const m = SHOWINFO.exec(line);
  if (m === null) return undefined;
  const instance = m[1];
  if (m[4] !== undefined) return { instance, timeBase: { num: Number(m[4]), den: Number(m[5]) } };
  return { instance, pts: m[2] === 'NOPTS' ? NaN : Number(m[2]), key: m[3] === '1' };
}

/** Index of the last entry of an ascending array that is <= t (0 when none is). */
export function lastAtOrBefore(values: ArrayLike<number>, t: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (values[mid]! <= t + 1e-9) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The frame on screen at t seconds from the first frame: the last frame whose time is <= t. */
export function frameAt(timeline: FrameTimeline, t: number): number {
  return lastAtOrBefore(timeline.times, t);
}

/** The keyframe at or before frame `frame` (a frame index). */
export function keyframeAtOrBefore(timeline: FrameTimeline, frame: number): number {
  return timeline.keyframes[lastAtOrBefore(timeline.keyframes, frame)]!;
}

/** The keyframe before `key` (itself when it is the first). */
export function keyframeBefore(timeline: FrameTimeline, key: number): number {
  const k = lastAtOrBefore(timeline.keyframes, key);
  return timeline.keyframes[timeline.keyframes[k]! < key ? k : Math.max(0, k - 1)]!;
}

/** Frame `frame`'s presentation time in seconds as the demuxer gives it. */
export function absoluteTime(timeline: FrameTimeline, frame: number): number {
  return (timeline.pts[frame]! * timeline.timeBase.num) / timeline.timeBase.den;
}
