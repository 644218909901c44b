import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { planFrames, type FrameSelection, type PlannedFrame, type VideoTiming } from './plan.js';
import { readPpmStream, type RgbFrame } from './ppm.js';
import { ffmpegBinary } from '../media/binaries.js';
import { fileUrl, INPUT_PROTOCOL_ARGS } from '../media/input.js';
import { classifyMediaFailure, looksLikeMp4, seekBackSeconds, probeVideo, type ProbeResult } from '../media/probe.js';
import { spawnMedia, stderrSummary } from '../media/process.js';
import { mapLimit } from '../decontam/pool.js';
import { VdedupError } from '../errors.js';

export type ImageFormat = 'jpg' | 'png' | 'webp';
export type Fit = 'inside' | 'cover' | 'fill';

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
  /** Force the access strategy (default: chosen by the measured rule, see `chooseStrategy`). */
  strategy?: Strategy;
  /**
   * Trade exactness for speed (sparse selections only): seek to the keyframe at or before each
   * time and decode only that keyframe. `timestamp` in the manifest is then the keyframe's own
   * time, which can be several seconds before `requested`.
   */
  fast?: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
  onProgress?: (done: number, total: number) => void;
}

export type Strategy = 'single-pass' | 'seek';

export interface ExtractedFrame {
  index: number;
  /** Time asked for, and time of the frame returned (the frame on screen then), in seconds. */
  requested: number;
  timestamp: number;
  file: string;
  width: number;
  height: number;
}

export interface FramesManifest {
  video: string;
  /** True when --fast returned keyframes near the requested times instead of exact frames. */
  fast: boolean;
  duration: number;
  frameRate: number;
  selection: FrameSelection;
  strategy: Strategy;
  format: ImageFormat;
  frames: ExtractedFrame[];
}

export const FORMATS: readonly ImageFormat[] = ['jpg', 'png', 'webp'];

/**
 * Seek to each frame or decode once, chosen from what is measured about the file. Both decode: a
 * seek from the keyframe at or before its target (on average `seekBackSeconds` of frames, plus the
 * target), a pass every frame. So seeking wins while
 *   frames x (seekBackSeconds x frame rate + 1) x SEEK_COST < duration x frame rate,
 * whatever the resolution (both decode the same pictures). SEEK_COST is what a decoded frame costs
 * in a seek against one in a pass: 1.07 measured in CPU time (real footage, 720p, x264 defaults;
 * bench/README.md, "Seek or one pass"), rounded up to 1.2 because the first 30 s of a file
 * under-estimate its seek-back distance a little (2.8 against 3.2 s there). A file with fewer
 * than two keyframes in its first KEYFRAME_PROBE_SECONDS counts as one that far back.
 */
export const SEEK_COST = 1.2;
export const KEYFRAME_PROBE_SECONDS = 30;

export function chooseStrategy(sel: FrameSelection, frames: number, timing: VideoTiming, seekBack: number | undefined): Strategy {
  if (sel.mode === 'fps') return 'single-pass';
  const seekFrames = frames * ((seekBack ?? KEYFRAME_PROBE_SECONDS) * timing.frameRate + 1) * SEEK_COST;
  return seekFrames < timing.duration * timing.frameRate ? 'seek' : 'single-pass';
}

/** `chooseStrategy` for a probed file, with its seek-back distance measured. */
export async function strategyFor(probe: ProbeResult, sel: FrameSelection, frames: number, signal?: AbortSignal): Promise<Strategy> {
  if (sel.mode === 'fps') return 'single-pass';
  const timing = { duration: probe.duration ?? 0, frameRate: probe.video.fps ?? 25 };
  // Sparse enough that seeking wins even from the farthest keyframe the probe would allow: no probe.
  if (chooseStrategy(sel, frames, timing, undefined) === 'seek') return 'seek';
  const back = await seekBackSeconds(probe.absolutePath, probe.video.index, { seconds: KEYFRAME_PROBE_SECONDS, signal }).catch(() => undefined);
  return chooseStrategy(sel, frames, timing, back);
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

export async function encodeImage(frame: RgbFrame, o: OutputOptions): Promise<Buffer> {
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

const BAD_DATA = /Invalid data found when processing input|could not find codec parameters|moov atom not found|partial file|Invalid dimensions|Picture size \d+x\d+ is invalid/i;

/** Run one ffmpeg process and hand every decoded frame to `onFrame` as it arrives. */
async function runFfmpeg(
  file: string,
  args: string[],
  o: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined },
  onFrame: (f: RgbFrame) => Promise<void>,
): Promise<{ frames: number; stderr: string }> {
  const proc = spawnMedia(ffmpegBinary().path, args, { file, signal: o.signal, timeoutMs: o.timeoutMs });
  let n = 0;
  // Encode up to two frames while ffmpeg decodes the next: sharp works on its own threads.
  const inFlight = new Set<Promise<void>>();
  try {
    for await (const frame of readPpmStream(proc.stdout)) {
      const p: Promise<void> = onFrame(frame).finally(() => inFlight.delete(p));
      inFlight.add(p);
      n++;
      if (inFlight.size >= 2) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } catch (err) {
    await Promise.allSettled(inFlight);
    proc.kill();
    await proc.exited.catch(() => undefined);
    if (err instanceof VdedupError) throw err;
    throw new VdedupError('FFMPEG_FAILED', `reading frames failed: ${(err as Error).message}`, { file });
  }
  const exit = await proc.exited;
  if (exit.code !== 0) {
    // Damaged or impossible media is the input's fault (no retry helps); anything else is ffmpeg's.
    if (BAD_DATA.test(exit.stderr)) throw classifyMediaFailure(exit.stderr, file, await looksLikeMp4(file).catch(() => false));
    throw new VdedupError('FFMPEG_FAILED', `ffmpeg failed: ${stderrSummary(exit.stderr) || `exit ${exit.code}`}`, { file });
  }
  return { frames: n, stderr: exit.stderr };
}

/**
 * `a+b+c+...` nested as a balanced tree: ffmpeg's expression parser recurses once per operator, and
 * a flat sum of ~150 terms already fails with "Cannot allocate memory".
 */
export function balancedSum(terms: string[]): string {
  if (terms.length === 0) return '0';
  if (terms.length === 1) return terms[0]!;
  const mid = Math.floor(terms.length / 2);
  return `(${balancedSum(terms.slice(0, mid))}+${balancedSum(terms.slice(mid))})`;
}

const baseArgs = ['-nostdin', '-hide_banner', '-loglevel', 'error'];
// 8-bit RGB whatever the source: ffmpeg would otherwise write 16-bit PPM for 10-bit video.
const outArgs = ['-an', '-sn', '-dn', '-pix_fmt', 'rgb24', '-f', 'image2pipe', '-c:v', 'ppm', 'pipe:1'];

function fileName(f: PlannedFrame, format: ImageFormat): string {
  return `frame_${String(f.index).padStart(5, '0')}_${f.timestamp.toFixed(3)}s.${format}`;
}

/**
 * Extract frames (`vdedup frames`, POST /v1/frames): one decode pass for dense selections, one seek per
 * frame for sparse ones; frames stream from ffmpeg to sharp to disk, so memory does not grow with
 * the video's length. Writes the images and `frames.json` into `outDir`.
 */
export async function extractFrames(video: string, o: ExtractOptions): Promise<FramesManifest> {
  checkOutputOptions(o);
  const format = o.format ?? 'jpg';
  const probe: ProbeResult = await probeVideo(video, { signal: o.signal });
  const frameRate = probe.video.fps ?? 25;
  const timing: VideoTiming = { duration: probe.duration ?? 0, frameRate };
  const plan = planFrames(o.selection, timing);
  if (o.fast === true && o.selection.mode === 'fps') {
    throw new VdedupError('INVALID_ARGUMENT', '--fast applies to --count, --at and --random (an --fps pass decodes every frame anyway)');
  }
  if (o.fast === true && o.strategy === 'single-pass') throw new VdedupError('INVALID_ARGUMENT', '--fast always seeks');
  const strategy = o.fast === true ? 'seek' : (o.strategy ?? (await strategyFor(probe, o.selection, plan.length, o.signal)));
  await mkdir(o.outDir, { recursive: true });
  const frames: ExtractedFrame[] = [];
  try {
    await decodePlannedFrames(video, probe, plan, { ...o, strategy, fps: o.selection.mode === 'fps' ? o.selection.fps : undefined }, async (planned, frame) => {
      const name = fileName(planned, format);
      await writeFile(path.join(o.outDir, name), await encodeImage(frame, o));
      frames.push({ index: planned.index, requested: planned.requested, timestamp: planned.timestamp, file: name, width: frame.width, height: frame.height });
      o.onProgress?.(frames.length, plan.length);
    });
  } catch (err) {
    // A failed extraction leaves no partial set behind: the images it wrote go (nothing else).
    await Promise.all(frames.map((f) => rm(path.join(o.outDir, f.file), { force: true })));
    throw err;
  }
  frames.sort((a, b) => a.index - b.index);
  const manifest: FramesManifest = { video, fast: o.fast === true, duration: timing.duration, frameRate, selection: o.selection, strategy, format, frames };
  await writeFile(path.join(o.outDir, 'frames.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

interface DecodeOptions extends OutputOptions {
  strategy: Strategy;
  /** Set for an --fps selection: one pass with the fps filter. */
  fps: number | undefined;
  fast?: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * Seek targets per ffmpeg process: each is an input with its own demuxer and decoder, and a
 * decoder keeps its frame buffers until the process ends. Measured: 16 inputs of 720p peak at
 * about 400 MB; so a process gets up to 16 inputs and at most 16 x 720p of pixels (7 at 1080p, 1
 * at 4K), which bounds its memory whatever the video's length or resolution.
 */
export function seekInputsPerProcess(width: number, height: number, processes = 1): number {
  return Math.max(1, Math.min(16, Math.floor((16 * 1280 * 720) / processes / Math.max(1, width * height))));
}

/**
 * ffmpeg processes seeking at once, one core each (their inputs share the memory bound above).
 * 32 frames of 5-min 1080p (bench/README.md): 2 single-threaded processes used the least CPU of
 * the settings tried and matched PyAV's time, with 180 MB peak instead of 366 MB for one process
 * of 7 multi-threaded decoders.
 */
export const SEEK_PROCESSES = Math.max(1, Math.min(4, os.availableParallelism()));

/**
 * Exact frames by seeking, many per ffmpeg process: every target time is an input of its own
 * (`-ss` before `-i`: the demuxer jumps to the keyframe at or before it and the decoder runs
 * forward, discarding frames before the time), read for just over one frame (`-t`), trimmed to
 * its first frame, and the inputs are concatenated into one output. One process start and one
 * file open per batch instead of per frame; the decoder keeps its threads.
 */
async function seekInBatches(
  video: string,
  probe: ProbeResult,
  plan: PlannedFrame[],
  o: { scale: string | undefined; run: { file: string; signal?: AbortSignal | undefined; timeoutMs?: number | undefined } },
  onFrame: (planned: PlannedFrame, frame: RgbFrame) => Promise<void>,
): Promise<void> {
  const frameRate = probe.video.fps ?? 25;
  // Each distinct time once, with the plan entries that ask for it (explicit times may repeat).
  const askedAt = new Map<number, PlannedFrame[]>();
  for (const p of plan) {
    const asked = askedAt.get(p.timestamp);
    if (asked === undefined) askedAt.set(p.timestamp, [p]);
    else asked.push(p);
  }
  const times = [...askedAt.keys()].sort((a, b) => a - b);
  const processes = SEEK_PROCESSES;
  // Targets spread over the processes (8 frames: two processes of 4), within the memory bound.
  const perProcess = Math.min(seekInputsPerProcess(probe.video.width, probe.video.height, processes), Math.ceil(times.length / processes));
  const batches: number[][] = [];
  for (let b = 0; b < times.length; b += perProcess) batches.push(times.slice(b, b + perProcess));
  // A failed batch stops its siblings (their frames would be thrown away), and the error is
  // thrown only once every batch has settled: no frame is still being written when the caller
  // removes what was written.
  const stop = new AbortController();
  const signal = o.run.signal === undefined ? stop.signal : AbortSignal.any([o.run.signal, stop.signal]);
  let failure: { err: unknown } | undefined;
  await mapLimit(batches, processes, async (batch) => {
    if (failure !== undefined) return;
    const inputs = batch.flatMap((t) => [
      // Input-side seek lands on the first frame at or after the given time; aim half a frame
      // early so the planned frame (exactly on the frame grid) is the one returned.
      '-ss', Math.max(0, t - 0.5 / frameRate).toFixed(6),
      '-t', (2 / frameRate).toFixed(6),
      // One decoding thread per input: frame threads restart at every seek (their pipeline
      // fills anew from the keyframe); the cores are used by running SEEK_PROCESSES at once.
      '-threads', '1',
      ...INPUT_PROTOCOL_ARGS, '-i', fileUrl(probe.absolutePath),
    ]);
    const trims = batch.map((_, k) => `[${k}:${probe.video.index}]trim=end_frame=1,setpts=N[f${k}]`).join(';');
    const joined = batch.map((_, k) => `[f${k}]`).join('');
    const graph = `${trims};${joined}concat=n=${batch.length}:v=1:a=0${o.scale === undefined ? '' : `,${o.scale}`}[out]`;
    const args = [...baseArgs, ...inputs, '-filter_complex', graph, '-map', '[out]', '-fps_mode', 'passthrough', ...outArgs];
    let k = 0;
    try {
      const got = await runFfmpeg(video, args, { ...o.run, signal }, async (f) => {
        // Frames come in input order: the k-th is the one on screen at batch[k].
        const t = batch[k++];
        for (const planned of askedAt.get(t!)!) await onFrame(planned, f);
      });
      if (got.frames !== batch.length) {
        throw new VdedupError('NO_FRAMES', `got ${got.frames} of ${batch.length} frames near ${batch[0]!.toFixed(3)}-${batch.at(-1)!.toFixed(3)} s`, { file: video });
      }
    } catch (err) {
      failure ??= { err };
      stop.abort();
    }
  });
  if (failure !== undefined) throw failure.err;
}

/**
 * Decode the planned frames of a probed video and hand each to `onFrame` (with its plan entry;
 * with `fast`, the entry's timestamp is the keyframe's real time). Shared by frame extraction and
 * the scan report's evidence strips.
 */
export async function decodePlannedFrames(
  video: string,
  probe: ProbeResult,
  plan: PlannedFrame[],
  o: DecodeOptions,
  onFrame: (planned: PlannedFrame, frame: RgbFrame) => Promise<void>,
): Promise<void> {
  const frameRate = probe.video.fps ?? 25;
  const input = [...INPUT_PROTOCOL_ARGS, '-i', fileUrl(probe.absolutePath)];
  const map = ['-map', `0:${probe.video.index}`];
  const scale = scaleFilter(o);
  const run = { file: video, signal: o.signal, timeoutMs: o.timeoutMs };
  if (o.strategy === 'seek' && o.fast !== true) return seekInBatches(video, probe, plan, { scale, run }, onFrame);
  if (o.strategy === 'seek') {
    for (const planned of plan) {
      // Keyframe only: no decoding from the keyframe up to the time; showinfo reports the
      // keyframe's own time (timestamps kept with -copyts).
      const args = [
        '-nostdin', '-hide_banner', '-nostats', '-loglevel', 'level+info', '-noaccurate_seek', '-skip_frame', 'nokey',
        '-ss', planned.timestamp.toFixed(6), '-copyts', ...input, ...map, '-frames:v', '1',
        '-vf', ['showinfo', scale].filter(Boolean).join(','), ...outArgs,
      ];
      let frame: RgbFrame | undefined;
      const got = await runFfmpeg(video, args, run, async (f) => {
        frame = f;
      });
      const pts = /pts_time:(-?[\d.]+)/.exec(got.stderr);
      if (got.frames !== 1 || frame === undefined || pts === null) {
        throw new VdedupError('NO_FRAMES', `no keyframe near ${planned.requested.toFixed(3)} s`, { file: video });
      }
      await onFrame({ ...planned, timestamp: Number(pts[1]) }, frame);
    }
    return;
  }
  let filter: string;
  if (o.fps !== undefined) {
    filter = `fps=${o.fps}:round=up`;
  } else {
    // Keep exactly the frames on screen at the planned times: pts in (t - 1 frame, t].
    const d = 1 / frameRate;
    const eps = d / 100;
    const unique = [...new Set(plan.map((p) => p.timestamp))];
    const terms = unique.map((t) => `between(t\\,${(t - d + eps).toFixed(6)}\\,${(t + eps).toFixed(6)})`);
    filter = `select='${balancedSum(terms)}'`;
  }
  const args = [...baseArgs, ...input, ...map, '-vf', [filter, scale].filter(Boolean).join(','), '-fps_mode', 'passthrough', ...outArgs];
  // The pass yields frames in time order; explicit times may repeat or come unordered.
  const order = [...plan].sort((a, b) => a.timestamp - b.timestamp || a.index - b.index);
  let i = 0;
  await runFfmpeg(video, args, run, async (f) => {
    // Claim this frame's plan entries before the first await: runFfmpeg keeps two callbacks in
    // flight, and the next frame's callback must not see entries this one has not handed out yet.
    const first = i;
    const t = order[i]?.timestamp;
    while (i < order.length && order[i]!.timestamp === t) i++;
    for (const planned of order.slice(first, i)) await onFrame(planned, f);
  });
  // When the container's duration runs past the last frame, the fps filter has no frame for the
  // final planned time: that time is dropped, never filled with another frame. A selection that
  // misses frames (variable frame rate) is an error rather than a short answer, and so is a pass
  // that yields no frame at all.
  const tolerated = o.fps !== undefined && i > 0 ? 1 : 0;
  if (order.length - i > tolerated) {
    throw new VdedupError('NO_FRAMES', `got ${i} of ${order.length} frames (variable frame rate? try --strategy seek)`, { file: video });
  }
}
