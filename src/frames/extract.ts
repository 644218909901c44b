import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodePass, decodeSeeks, seekRuns, TimelineMismatch, withScratch, type RunInput, type Target } from './decode.js';
import { planFrames, type FrameSelection, type PlannedFrame } from './plan.js';
import { type RgbFrame } from './ppm.js';
import { decodedTimeline, keyframeAtOrBefore, packetTimeline, TimelineUnstated, timelineFromSampleTable, type FrameTimeline } from './timeline.js';
import { checkInputFile } from '../media/input.js';
import { h264ReferenceSamples } from '../media/h264.js';
import { readSampleTable, type SampleTable } from '../media/mp4/sample-table.js';
import { keptSamples, subsetHeader } from '../media/mp4/subset.js';
import { probeVideo, type ProbeResult } from '../media/probe.js';
import { VdedupError } from '../errors.js';

export type ImageFormat = 'jpg' | 'png' | 'webp';
export type Fit = 'inside' | 'cover' | 'fill';
export type Strategy = 'single-pass' | 'seek';

export interface OutputOptions {
  format?: ImageFormat;
  width?: number;
  height?: number;
  /** With both width and height: keep the aspect ratio inside the box, fill and crop, or stretch. */
  fit?: Fit;
  /** JPEG/WebP quality, 1-100. */
  quality?: number;
}

export interface ExtractOptions extends OutputOptions {
  selection: FrameSelection;
  outDir: string;
  /** Force the access strategy (default: the cheaper one for this file and selection, `chooseStrategy`). */
  strategy?: Strategy;
  /**
   * Trade exactness for speed (sparse selections only): return the keyframe at or before each
   * frame asked for, decoded alone. `frame` and `timestamp` in the manifest are then the
   * keyframe's own, which can be several seconds before `requested`.
   */
  fast?: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface ExtractedFrame {
  index: number;
  /** The time asked for (seconds from the first frame; for --count and --random the frame's own). */
  requested: number;
  /** The frame returned: its index among the video's frames, and its decoded presentation time (seconds from the first frame). */
  frame: number;
  timestamp: number;
  file: string;
  width: number;
  height: number;
}

export interface FramesManifest {
  video: string;
  /** True when --fast returned keyframes near the requested times instead of exact frames. */
  fast: boolean;
  /** Seconds from the first frame to the end of the last. */
  duration: number;
  /** The video's frames (the decoder's output), and their average rate. */
  frameCount: number;
  frameRate: number;
  /** Where the frame list came from: the MP4 sample table, a packet scan, or a full decode. */
  timeline: FrameTimeline['source'];
  selection: FrameSelection;
  strategy: Strategy;
  format: ImageFormat;
  frames: ExtractedFrame[];
}

export const FORMATS: readonly ImageFormat[] = ['jpg', 'png', 'webp'];

/** What extraction knows about a video before decoding it. */
export interface FrameSource {
  probe: ProbeResult;
  /** The MP4 sample table, when `readSampleTable` states it exactly (the H.264 subset pass needs it). */
  sampleTable: SampleTable | undefined;
  timeline: FrameTimeline;
}

/**
 * Open a video for frame extraction: an MP4/MOV whose sample table the in-process reader states
 * exactly needs no ffprobe; any other file is probed by ffprobe (with its precise errors for bad
 * input) and its frames listed by a demux-only packet scan, or by a full decode when the packets
 * cannot state them.
 */
export async function openFrameSource(video: string, signal?: AbortSignal): Promise<FrameSource> {
  const { absolute, size } = await checkInputFile(video);
  const table = await readSampleTable(absolute, signal);
  if (table !== undefined) {
    const probe: ProbeResult = {
      file: video,
      absolutePath: absolute,
      sizeBytes: size,
      format: 'mov,mp4,m4a,3gp,3g2,mj2',
      duration: table.duration,
      video: { index: table.streamIndex, videoOrdinal: table.videoOrdinal, codec: table.codec, width: table.width, height: table.height, fps: table.frameTimes.length / table.duration, rotation: 0, pixelFormat: undefined },
      hasAudio: table.hasAudio,
    };
    return { probe, sampleTable: table, timeline: timelineFromSampleTable(table) };
  }
  // The packet scan of the first video stream runs beside the probe (two process starts at once);
  // if the probe picks another stream (cover art first), that stream is scanned after it.
  const media = { file: video, absolutePath: absolute };
  const early = new AbortController();
  const settle = (p: Promise<{ timeline: FrameTimeline; streamIndex: number }>) => p.then((r) => ({ r }), (err: unknown) => ({ err }));
  const scan = settle(packetTimeline(media, 'v:0', signal === undefined ? early.signal : AbortSignal.any([signal, early.signal])));
  let probe: ProbeResult;
  try {
    probe = await probeVideo(video, { signal });
  } catch (err) {
    early.abort();
    await scan;
    throw err;
  }
  let scanned = await scan;
  if ('r' in scanned && scanned.r.streamIndex !== probe.video.index) scanned = await settle(packetTimeline(media, String(probe.video.index), signal));
  if ('err' in scanned && !(scanned.err instanceof TimelineUnstated)) throw scanned.err;
  const timeline = 'r' in scanned ? scanned.r.timeline : await decodedTimeline(probe, signal);
  return { probe, sampleTable: undefined, timeline };
}

/**
 * Seek to each frame or decode once, whichever decodes less. A seek decodes from the keyframe at
 * or before its frame (frames in one stretch between keyframes share a seek) and starts a process;
 * a pass decodes every frame. SEEK_COST is what a decoded frame costs in a seek against one in a
 * pass (a fresh decoder per seek, fewer threads busy: bench/README.md, "How frames are found");
 * PROCESS_START_PIXELS is an ffmpeg start in units of decoded pixels (about 0.08 s against
 * about 1 ns a pixel), so small videos seek less.
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

function scaleFilter(o: OutputOptions): string | undefined {
  const w = o.width;
  const h = o.height;
  if (w === undefined && h === undefined) return undefined;
  if (w !== undefined && h !== undefined) {
    switch (o.fit ?? 'inside') {
      case 'fill':
        return `scale=${w}:${h}`;
      case 'cover':
        return `scale=${w}:${h}:force_original_aspect_ratio=increase,crop=${w}:${h}`;
      case 'inside':
        return `scale=${w}:${h}:force_original_aspect_ratio=decrease`;
    }
  }
  return w !== undefined ? `scale=${w}:-2` : `scale=-2:${h}`;
}

/** Refuse output options out of range (format, sizes, quality, fit) before any decoding. */
export function checkOutputOptions(o: OutputOptions): void {
  if (o.format !== undefined && !FORMATS.includes(o.format)) {
    throw new VdedupError('INVALID_ARGUMENT', `unknown image format "${o.format}" (expected ${FORMATS.join(', ')})`);
  }
  for (const [name, v] of [['width', o.width], ['height', o.height]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 16 && v <= 8192)) {
      throw new VdedupError('INVALID_ARGUMENT', `${name} must be an integer from 16 to 8192, got ${v}`);
    }
  }
  if (o.quality !== undefined && !(Number.isInteger(o.quality) && o.quality >= 1 && o.quality <= 100)) {
    throw new VdedupError('INVALID_ARGUMENT', `quality must be an integer from 1 to 100, got ${o.quality}`);
  }
  if (o.fit !== undefined && !['inside', 'cover', 'fill'].includes(o.fit)) {
    throw new VdedupError('INVALID_ARGUMENT', `fit must be inside, cover or fill, got "${o.fit}"`);
  }
}

let sharpModule: Promise<typeof import('sharp')> | undefined;

/**
 * sharp, loaded once, at the first image to encode: loading it (libvips) takes 0.1-0.2 s, which
 * extraction then spends while ffmpeg decodes the next frames instead of before starting ffmpeg.
 */
export function loadSharp(): Promise<typeof import('sharp')> {
  sharpModule ??= import('sharp');
  return sharpModule;
}

export async function encodeImage(frame: RgbFrame, o: OutputOptions): Promise<Buffer> {
  const { default: sharp } = await loadSharp();
  const img = sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } });
  switch (o.format ?? 'jpg') {
    case 'png':
      return img.png().toBuffer();
    case 'webp':
      return img.webp({ quality: o.quality ?? 85 }).toBuffer();
    default:
      // Standard Huffman tables, as Pillow and libjpeg write by default: sharp's optimised tables
      // make files ~10% smaller for twice the encoding time (720p: 8.1 vs 3.9 ms a frame, one core).
      return img.jpeg({ quality: o.quality ?? 90, optimiseCoding: false }).toBuffer();
  }
}

/** The image file name of a planned frame. */
function fileName(f: PlannedFrame, format: ImageFormat): string {
  return `frame_${String(f.index).padStart(5, '0')}_${f.timestamp.toFixed(3)}s.${format}`;
}

/**
 * Extract frames (`vdedup frames`, POST /v1/frames): one decode pass for dense selections, seeks
 * for sparse ones, every frame proven against the video's frame list; frames stream from ffmpeg
 * to sharp to disk, so memory does not grow with the video's length. Writes the images and
 * `frames.json` into `outDir`.
 */
export async function extractFrames(video: string, o: ExtractOptions): Promise<FramesManifest> {
  checkOutputOptions(o);
  const format = o.format ?? 'jpg';
  if (o.fast === true && o.selection.mode === 'fps') {
    throw new VdedupError('INVALID_ARGUMENT', '--fast applies to --count, --at and --random (an --fps pass decodes every frame anyway)');
  }
  if (o.fast === true && o.strategy === 'single-pass') throw new VdedupError('INVALID_ARGUMENT', '--fast always seeks');
  const source = await openFrameSource(video, o.signal);
  await mkdir(o.outDir, { recursive: true });
  let frames: ExtractedFrame[] = [];
  // A failed extraction, or one that starts again on a decoded frame list, leaves no image behind.
  const removeWritten = async () => {
    const written = frames;
    frames = [];
    await Promise.all(written.map((f) => rm(path.join(o.outDir, f.file), { force: true })));
  };
  let decoded: Decoded;
  try {
    decoded = await decodeFrames(video, source, (timeline) => planFrames(o.selection, timeline), { ...o, strategy: o.fast === true ? 'seek' : o.strategy }, {
      restart: removeWritten,
      onFrame: async (planned, frame, total) => {
        const name = fileName(planned, format);
        await writeFile(path.join(o.outDir, name), await encodeImage(frame, o));
        frames.push({ index: planned.index, requested: planned.requested, frame: planned.frame, timestamp: planned.timestamp, file: name, width: frame.width, height: frame.height });
        o.onProgress?.(frames.length, total);
      },
    });
  } catch (err) {
    await removeWritten();
    throw err;
  }
  frames.sort((a, b) => a.index - b.index);
  const { timeline, strategy } = decoded;
  const frameCount = timeline.pts.length;
  const manifest: FramesManifest = {
    video,
    fast: o.fast === true,
    duration: timeline.duration,
    frameCount,
    frameRate: frameCount / timeline.duration,
    timeline: timeline.source,
    selection: o.selection,
    strategy,
    format,
    frames,
  };
  await writeFile(path.join(o.outDir, 'frames.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

export interface DecodeOptions extends OutputOptions {
  /** Forced strategy; default: `chooseStrategy`. */
  strategy?: Strategy | undefined;
  /** Keyframes only (--fast): each planned frame becomes the keyframe at or before it. */
  fast?: boolean;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

export interface Decoded {
  timeline: FrameTimeline;
  plan: PlannedFrame[];
  strategy: Strategy;
}

/** ffmpeg processes seeking at once: one per core, up to 4. */
export const SEEK_PROCESSES = Math.max(1, Math.min(4, os.availableParallelism()));

/**
 * Decode the frames `planFor` plans on the video's frame list and hand each to `onFrame` with its
 * plan entry (with `fast`, the entry names the keyframe returned). When a decode proves the frame
 * list wrong (a packet scan that the decoder contradicts), the list is decoded in full, `restart`
 * is called (frames handed on so far are void) and the frames are planned and decoded again in one
 * pass. Shared by frame extraction and the scan report's evidence strips.
 */
export async function decodeFrames(
  video: string,
  source: FrameSource,
  planFor: (timeline: FrameTimeline) => PlannedFrame[],
  o: DecodeOptions,
  sink: { onFrame: (planned: PlannedFrame, frame: RgbFrame, total: number) => Promise<void>; restart: () => Promise<void> },
): Promise<Decoded> {
  const { probe } = source;
  const input: RunInput = { absolutePath: probe.absolutePath, streamIndex: probe.video.index };
  const runOptions = { file: video, scale: scaleFilter(o), signal: o.signal, timeoutMs: o.timeoutMs };
  const targetsOf = (timeline: FrameTimeline, plan: PlannedFrame[]) => {
    const byFrame = new Map<number, PlannedFrame[]>();
    for (const p of plan) {
      const frame = o.fast === true ? keyframeAtOrBefore(timeline, p.frame) : p.frame;
      const entry = { ...p, frame, timestamp: timeline.times[frame]! };
      const asks = byFrame.get(frame);
      if (asks === undefined) byFrame.set(frame, [entry]);
      else asks.push(entry);
    }
    return [...byFrame.entries()].sort((a, b) => a[0] - b[0]).map(([frame, asks]): Target<PlannedFrame> => ({ frame, asks }));
  };
  return withScratch(async (dir) => {
    let timeline = source.timeline;
    let plan = planFor(timeline);
    const hand = async (asks: PlannedFrame[], frame: RgbFrame) => {
      for (const planned of asks) await sink.onFrame(planned, frame, plan.length);
    };
    const targets = targetsOf(timeline, plan);
    // Frames that share a time can only be told apart by counting them in a pass.
    const strategy = !timeline.distinct ? 'single-pass' : (o.strategy ?? chooseStrategy(timeline, targets.map((t) => t.frame), probe.video.width * probe.video.height));
    try {
      if (strategy === 'seek') {
        await decodeSeeks(input, timeline, targets, { ...runOptions, processes: SEEK_PROCESSES, keyframesOnly: o.fast === true, pixels: probe.video.width * probe.video.height }, dir, hand);
      } else {
        const threads = os.availableParallelism();
        const subset = await referenceSubset(source, targets.map((t) => t.frame));
        try {
          await decodePass({ ...input, subset }, timeline, targets, { ...runOptions, threads }, dir, hand);
        } catch (err) {
          if (!(err instanceof TimelineMismatch) || subset === undefined) throw err;
          // The subset is a shortcut: without it, the pass decides.
          await sink.restart();
          await decodePass(input, timeline, targets, { ...runOptions, threads }, dir, hand);
        }
      }
      return { timeline, plan, strategy };
    } catch (err) {
      if (!(err instanceof TimelineMismatch)) throw err;
      if (timeline.source === 'decoded') throw new VdedupError('NO_FRAMES', `the decoder does not give the same frames twice: ${err.message}`, { file: video });
      await sink.restart();
      timeline = await decodedTimeline(probe, o.signal);
      plan = planFor(timeline);
      try {
        await decodePass(input, timeline, targetsOf(timeline, plan), { ...runOptions, threads: os.availableParallelism() }, dir, hand);
      } catch (again) {
        if (again instanceof TimelineMismatch) throw new VdedupError('NO_FRAMES', `the decoder does not give the same frames twice: ${again.message}`, { file: video });
        throw again;
      }
      return { timeline, plan, strategy: 'single-pass' };
    }
  });
}

/**
 * For one decoding pass over an H.264 MP4: the file as an MP4 stream without the non-reference
 * frames that no target is (every other frame with x264's defaults; bench/README.md "Frame
 * extraction"). The frames left keep their times, and a non-reference frame is no other frame's
 * reference, so the targets decode bit-identically; the last frame stays, so the pass still
 * proves where the video ends. Undefined when that would leave out too little to be worth a second
 * read of the file, or the file does not allow it (not H.264, a sample without a readable slice,
 * times beyond 32 bits).
 */
async function referenceSubset(source: FrameSource, frames: number[]): Promise<(() => AsyncIterable<Buffer>) | undefined> {
  const { sampleTable: table, probe } = source;
  if (table === undefined || table.nalLengthSize === undefined) return undefined;
  const count = table.frameTimes.length;
  if (table.decodeUnits[count - 1]! + table.lastSampleUnits > 0xffffffff) return undefined;
  const refs = await h264ReferenceSamples(probe.absolutePath, table);
  if (refs === undefined) return undefined;
  const wanted = new Uint8Array(count);
  for (const f of [...frames, count - 1]) wanted[table.sampleOfFrame[f]!] = 1;
  const kept: number[] = [];
  for (let s = 0; s < count; s++) if (refs[s] === 1 || wanted[s] === 1) kept.push(s);
  if (kept.length > 0.9 * count) return undefined;
  const keep = Uint32Array.from(kept);
  const header = subsetHeader(table, keep);
  return async function* () {
    yield header;
    yield* keptSamples(probe.absolutePath, table, keep);
  };
}
