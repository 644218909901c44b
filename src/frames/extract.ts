import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { planFrames, type FrameSelection, type PlannedFrame, type VideoTiming } from './plan.js';
import { readPpmStream, type RgbFrame } from './ppm.js';
import { ffmpegBinary } from '../media/binaries.js';
import { checkInputFile, fileUrl, INPUT_PROTOCOL_ARGS, SAFE_DEMUXERS } from '../media/input.js';
import { h264ReferenceFrames, h264ReferenceSamples, keyframeAtOrBefore, lastAtOrBefore, readMp4Index, type Mp4VideoIndex } from '../media/mp4-index.js';
import { keptSamples, subsetHeader } from '../media/mp4-subset.js';
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

/** What extraction knows about a video before decoding it. */
export interface FrameSource {
  probe: ProbeResult;
  /**
   * The MP4 sample table, when the file has one that `readMp4Index` states exactly: the time of
   * every frame and of every keyframe, without ffprobe. Undefined for other files.
   */
  index: Mp4VideoIndex | undefined;
}

/**
 * Open a video for frame extraction: an MP4/MOV whose sample table can be read in-process needs no
 * ffprobe (one process start less, about 0.1 s) and gives exact frame times and keyframes; any
 * other file is probed by ffprobe as before, with its precise errors for bad input.
 */
export async function openFrameSource(video: string, signal?: AbortSignal): Promise<FrameSource> {
  const { absolute, size } = await checkInputFile(video);
  const index = await readMp4Index(absolute);
  if (index === undefined) return { probe: await probeVideo(video, { signal }), index: undefined };
  const probe: ProbeResult = {
    file: video,
    absolutePath: absolute,
    sizeBytes: size,
    format: 'mov,mp4,m4a,3gp,3g2,mj2',
    duration: index.duration,
    video: {
      index: index.streamIndex,
      videoOrdinal: index.videoOrdinal,
      codec: index.codec,
      width: index.width,
      height: index.height,
      fps: index.frameTimes.length / index.duration,
      rotation: 0,
      pixelFormat: undefined,
    },
    hasAudio: index.hasAudio,
  };
  return { probe, index };
}

/** Duration, frame rate and (with a sample table) the time of every frame. */
export function timingOf(source: FrameSource): VideoTiming {
  return { duration: source.probe.duration ?? 0, frameRate: source.probe.video.fps ?? 25, frameTimes: source.index?.frameTimes };
}

/**
 * What a seek to t costs to decode, in units of one pixel decoded: per frame decoded (decode order,
 * from the keyframe sample to the target's) its pixels, plus BYTE_COST per compressed byte.
 * Fitted on real 720p footage (x264 defaults, one decoding thread, 8 seeks timed alone): 0.84 ms a
 * frame (0.91 ns a pixel) plus 0.22 ms a KB (215 ns a byte); frame counts alone were off by 3x
 * between a quiet and a busy stretch (bench/README.md, "Frame extraction").
 */
export const BYTE_COST = 236;

export function seekCost(index: Mp4VideoIndex, t: number, pixels: number): number {
  const target = index.sampleOfFrame[lastAtOrBefore(index.frameTimes, t)]!;
  const key = index.sampleOfFrame[lastAtOrBefore(index.frameTimes, keyframeAtOrBefore(index, t))]!;
  let cost = 0;
  for (let s = Math.min(key, target); s <= target; s++) cost += pixels + BYTE_COST * index.sampleSizes[s]!;
  return cost;
}

/** Frames a seek to t decodes: from the keyframe at or before t up to t, both included. */
export function seekFrames(index: Mp4VideoIndex, t: number): number {
  return lastAtOrBefore(index.frameTimes, t) - lastAtOrBefore(index.frameTimes, keyframeAtOrBefore(index, t)) + 1;
}

export function chooseStrategy(sel: FrameSelection, frames: number, timing: VideoTiming, seekBack: number | undefined): Strategy {
  if (sel.mode === 'fps') return 'single-pass';
  const seekFrames = frames * ((seekBack ?? KEYFRAME_PROBE_SECONDS) * timing.frameRate + 1) * SEEK_COST;
  return seekFrames < timing.duration * timing.frameRate ? 'seek' : 'single-pass';
}

/**
 * `chooseStrategy` for a video: with a sample table, the frames the seeks would decode are counted
 * exactly; without, the seek-back distance is measured from the first packets.
 */
export async function strategyFor(source: FrameSource, sel: FrameSelection, plan: PlannedFrame[], signal?: AbortSignal): Promise<Strategy> {
  if (sel.mode === 'fps') return 'single-pass';
  const { probe, index } = source;
  if (index !== undefined) {
    let decoded = 0;
    for (const t of new Set(plan.map((p) => p.timestamp))) decoded += seekFrames(index, t);
    return decoded * SEEK_COST < index.frameTimes.length ? 'seek' : 'single-pass';
  }
  const frames = plan.length;
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

const BAD_DATA = /Invalid data found when processing input|could not find codec parameters|moov atom not found|partial file|Invalid dimensions|Picture size \d+x\d+ is invalid/i;

/** Run one ffmpeg process and hand every decoded frame to `onFrame` as it arrives. */
async function runFfmpeg(
  file: string,
  args: string[],
  o: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined; stdin?: AsyncIterable<Buffer> | undefined },
  onFrame: (f: RgbFrame) => Promise<void>,
): Promise<{ frames: number; stderr: string }> {
  const proc = spawnMedia(ffmpegBinary().path, args, { file, signal: o.signal, timeoutMs: o.timeoutMs, stdin: o.stdin });
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
  const source = await openFrameSource(video, o.signal);
  const timing = timingOf(source);
  const { frameRate } = timing;
  const plan = planFrames(o.selection, timing);
  if (o.fast === true && o.selection.mode === 'fps') {
    throw new VdedupError('INVALID_ARGUMENT', '--fast applies to --count, --at and --random (an --fps pass decodes every frame anyway)');
  }
  if (o.fast === true && o.strategy === 'single-pass') throw new VdedupError('INVALID_ARGUMENT', '--fast always seeks');
  const strategy = o.fast === true ? 'seek' : (o.strategy ?? (await strategyFor(source, o.selection, plan, o.signal)));
  await mkdir(o.outDir, { recursive: true });
  const frames: ExtractedFrame[] = [];
  try {
    await decodePlannedFrames(video, source, plan, { ...o, strategy, fps: o.selection.mode === 'fps' ? o.selection.fps : undefined }, async (planned, frame) => {
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
 * What a seek decoding with non-reference frames skipped costs against one decoding every frame
 * (used to share the seeks between processes): x264's defaults make every other frame a
 * non-reference B-frame, but the cheaper half to decode: two seeks on real 720p footage took 0.67
 * and 0.87 of their time (bench/README.md, "Frame extraction").
 */
export const SKIPPING_SEEK_COST = 0.8;

/** ffmpeg processes seeking at once: one per core, up to 4. */
export const SEEK_PROCESSES = Math.max(1, Math.min(4, os.availableParallelism()));

/**
 * Split seek targets over `processes` so that each decodes about as many frames: the costliest
 * target first, each to the least loaded process (longest processing time first). A process
 * decodes its targets one after the other, so the slowest one sets the wall time. Each share
 * comes back in time order.
 */
export function shareSeeks(times: number[], costs: number[], processes: number): number[][] {
  const shares = Array.from({ length: Math.max(1, Math.min(processes, times.length)) }, () => ({ load: 0, times: [] as number[] }));
  const order = times.map((t, i) => ({ t, cost: costs[i]! })).sort((a, b) => b.cost - a.cost || a.t - b.t);
  for (const { t, cost } of order) {
    const least = shares.reduce((best, s) => (s.load < best.load ? s : best));
    least.load += cost;
    least.times.push(t);
  }
  return shares.map((s) => s.times.sort((a, b) => a - b)).filter((ts) => ts.length > 0);
}

/**
 * Exact frames by seeking: each process reads its targets as the segments of a concat input,
 * the same file once per target (`inpoint` half a frame before the target: the demuxer jumps to
 * the keyframe at or before it, and the decoder runs forward; `outpoint` just after it). One
 * process start per core, not per target, and one decoder per process (two when some of its
 * targets skip non-reference frames) whatever the number of targets or the resolution, so
 * memory does not grow with either.
 *
 * Segment k starts at k x `spacing` seconds on the output timeline (the `duration` directive);
 * frames before its inpoint land just below that, frames from the inpoint on just above. The
 * select filter keeps the first frame at or above each segment's start: the target.
 */
async function seekWithConcat(
  video: string,
  source: FrameSource,
  plan: PlannedFrame[],
  o: { scale: string | undefined; keyframesOnly: boolean; run: { file: string; signal?: AbortSignal | undefined; timeoutMs?: number | undefined } },
  onFrame: (planned: PlannedFrame, frame: RgbFrame) => Promise<void>,
): Promise<void> {
  const { probe, index } = source;
  const frameRate = probe.video.fps ?? 25;
  // --fast (needs the sample table): the keyframe at or before each time, decoded alone.
  const keyframeOf = (t: number) => (o.keyframesOnly && index !== undefined ? keyframeAtOrBefore(index, t) : t);
  // Each distinct time once, with the plan entries that ask for it (explicit times may repeat).
  const askedAt = new Map<number, PlannedFrame[]>();
  for (const p of plan) {
    const t = keyframeOf(p.timestamp);
    const asked = askedAt.get(t);
    if (asked === undefined) askedAt.set(t, [p]);
    else asked.push(p);
  }
  const times = [...askedAt.keys()].sort((a, b) => a - b);
  // H.264 targets that are reference pictures are decoded with non-reference frames skipped (half
  // the frames of x264's defaults): none of their references is one, so they decode the same.
  const refs = index === undefined || o.keyframesOnly ? undefined : await h264ReferenceFrames(probe.absolutePath, index, times.map((t) => lastAtOrBefore(index.frameTimes, t)));
  const skips = new Set(times.filter((_, i) => refs?.[i] === true));
  // Without a sample table every seek counts the same.
  const pixels = probe.video.width * probe.video.height;
  const costs = times.map((t) => (index === undefined || o.keyframesOnly ? 1 : seekCost(index, t, pixels) * (skips.has(t) ? SKIPPING_SEEK_COST : 1)));
  const shares = shareSeeks(times, costs, SEEK_PROCESSES);
  // Fewer processes than cores (a few targets): each decoder gets the spare cores as threads.
  const threads = Math.max(1, Math.floor(os.availableParallelism() / shares.length));
  const spacing = Math.max(100_000, Math.ceil(2 * ((probe.duration ?? 0) + 1)));
  const select = `select='lt(mod(t\\,${spacing})\\,${spacing / 2})*(isnan(prev_selected_t)+gt(floor(t/${spacing}+0.5)\\,floor(prev_selected_t/${spacing}+0.5)))'`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vdedup-seek-'));
  // The list names the video through a link of a fixed, plain name: no quoting of the user's path
  // in the list's syntax (a newline in a file name could not be written there at all).
  const link = path.join(dir, 'video');
  const segments = (share: number[]) =>
    share.flatMap((t) => {
      const k = index === undefined ? -1 : lastAtOrBefore(index.frameTimes, t);
      // Half-way to the previous frame, so that the target is the first frame at or after it.
      const before = o.keyframesOnly ? 0 : index !== undefined && k > 0 ? (t - index.frameTimes[k - 1]!) / 2 : 0.5 / frameRate;
      return [`file '${fileUrl(link).replaceAll("'", "'\\''")}'`, `inpoint ${Math.max(0, t - before).toFixed(6)}`, `outpoint ${(t + 1 / frameRate).toFixed(6)}`, `duration ${spacing}`];
    });
  // A failed share stops its siblings (their frames would be thrown away), and the error is
  // thrown only once every share has settled: no frame is still being written when the caller
  // removes what was written.
  const stop = new AbortController();
  const signal = o.run.signal === undefined ? stop.signal : AbortSignal.any([o.run.signal, stop.signal]);
  let failure: { err: unknown } | undefined;
  try {
    await symlink(probe.absolutePath, link);
    await mapLimit(shares, shares.length, async (share, s) => {
      // One concat input for the targets decoded with non-reference frames skipped, one for the
      // rest; the output holds the first input's frames, then the second's.
      const parts = [share.filter((t) => skips.has(t)), share.filter((t) => !skips.has(t))].filter((ts) => ts.length > 0);
      const inputs: string[] = [];
      for (const [j, part] of parts.entries()) {
        const list = path.join(dir, `share-${s}-${j}.txt`);
        await writeFile(list, `${['ffconcat version 1.0', ...segments(part)].join('\n')}\n`);
        inputs.push(
          '-threads', String(threads), ...(o.keyframesOnly ? ['-skip_frame', 'nokey'] : skips.has(part[0]!) ? ['-skip_frame', 'noref'] : []),
          '-f', 'concat', '-safe', '0', '-protocol_whitelist', 'file', '-format_whitelist', ['concat', ...SAFE_DEMUXERS].join(','), '-i', list,
        );
      }
      const selected = parts.map((_, j) => `[${j}:${probe.video.index}]${select}[p${j}]`).join(';');
      const joined = `${parts.map((_, j) => `[p${j}]`).join('')}concat=n=${parts.length}:v=1:a=0${o.scale === undefined ? '' : `,${o.scale}`}[out]`;
      const order = parts.flat();
      const args = [...baseArgs, '-copyts', ...inputs, '-filter_complex', `${selected};${joined}`, '-map', '[out]', '-fps_mode', 'passthrough', ...outArgs];
      let k = 0;
      try {
        const got = await runFfmpeg(video, args, { ...o.run, signal }, async (f) => {
          // Frames come in segment order: the k-th is the one on screen at order[k].
          const t = order[k++];
          if (t === undefined) return;
          for (const planned of askedAt.get(t)!) await onFrame(o.keyframesOnly ? { ...planned, timestamp: t } : planned, f);
        });
        if (got.frames !== order.length) {
          throw new VdedupError('NO_FRAMES', `got ${got.frames} of ${order.length} frames near ${share[0]!.toFixed(3)}-${share.at(-1)!.toFixed(3)} s`, { file: video });
        }
      } catch (err) {
        failure ??= { err };
        stop.abort();
      }
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  if (failure !== undefined) throw failure.err;
}

/**
 * For one decoding pass over an H.264 MP4: the file as an MP4 stream without the non-reference
 * frames that no planned frame is (every other frame with x264's defaults; 28% of the decoding
 * time on real 720p footage, bench/README.md "Frame extraction"). The frames left keep their
 * times, and a non-reference frame is no other frame's reference, so the planned frames decode
 * bit-identically. Undefined when that would leave out too little to be worth a second read of
 * the file, or the file does not allow it (not H.264, a sample without a readable slice, times
 * beyond 32 bits).
 */
async function referenceSubset(source: FrameSource, plan: PlannedFrame[]): Promise<AsyncIterable<Buffer> | undefined> {
  const { index, probe } = source;
  if (index === undefined || index.nalLengthSize === undefined) return undefined;
  const count = index.frameTimes.length;
  if (index.decodeUnits[count - 1]! + index.lastSampleUnits > 0xffffffff) return undefined;
  const refs = await h264ReferenceSamples(probe.absolutePath, index);
  if (refs === undefined) return undefined;
  const wanted = new Uint8Array(count);
  for (const p of plan) wanted[index.sampleOfFrame[lastAtOrBefore(index.frameTimes, p.timestamp)]!] = 1;
  const kept: number[] = [];
  for (let s = 0; s < count; s++) if (refs[s] === 1 || wanted[s] === 1) kept.push(s);
  if (kept.length > 0.9 * count) return undefined;
  const keep = Uint32Array.from(kept);
  const header = subsetHeader(index, keep);
  return (async function* () {
    yield header;
    yield* keptSamples(probe.absolutePath, index, keep);
  })();
}

/**
 * Decode the planned frames of a probed video and hand each to `onFrame` (with its plan entry;
 * with `fast`, the entry's timestamp is the keyframe's real time). Shared by frame extraction and
 * the scan report's evidence strips.
 */
export async function decodePlannedFrames(
  video: string,
  source: FrameSource,
  plan: PlannedFrame[],
  o: DecodeOptions,
  onFrame: (planned: PlannedFrame, frame: RgbFrame) => Promise<void>,
): Promise<void> {
  const { probe } = source;
  const frameRate = probe.video.fps ?? 25;
  const input = [...INPUT_PROTOCOL_ARGS, '-i', fileUrl(probe.absolutePath)];
  const map = ['-map', `0:${probe.video.index}`];
  const scale = scaleFilter(o);
  const run = { file: video, signal: o.signal, timeoutMs: o.timeoutMs };
  // --fast without a sample table: one process per frame, which reports the keyframe's time.
  if (o.strategy === 'seek' && (o.fast !== true || source.index !== undefined)) {
    return seekWithConcat(video, source, plan, { scale, run, keyframesOnly: o.fast === true }, onFrame);
  }
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
    // Keep exactly the frames on screen at the planned times: pts in (t - 1 frame, t]; with a
    // sample table the planned times are frame times, and the window reaches half-way to the
    // neighbouring frames, so a variable frame rate selects each frame once too.
    const d = 1 / frameRate;
    const eps = d / 100;
    const times = source.index?.frameTimes;
    const unique = [...new Set(plan.map((p) => p.timestamp))];
    const terms = unique.map((t) => {
      const k = times === undefined ? -1 : lastAtOrBefore(times, t);
      const lo = times === undefined ? t - d + eps : k > 0 ? (times[k - 1]! + t) / 2 : t - eps;
      const hi = times === undefined ? t + eps : k + 1 < times.length ? (t + times[k + 1]!) / 2 : t + d;
      return `between(t\\,${lo.toFixed(6)}\\,${hi.toFixed(6)})`;
    });
    filter = `select='${balancedSum(terms)}'`;
  }
  // An H.264 MP4 is decoded without the non-reference frames no planned frame needs.
  const subset = await referenceSubset(source, plan);
  const passInput = subset === undefined ? [...input, ...map] : [...INPUT_PROTOCOL_ARGS, '-f', 'mov', '-i', 'pipe:0', '-map', '0:0'];
  const args = [...baseArgs, ...passInput, '-vf', [filter, scale].filter(Boolean).join(','), '-fps_mode', 'passthrough', ...outArgs];
  // The pass yields frames in time order; explicit times may repeat or come unordered.
  const order = [...plan].sort((a, b) => a.timestamp - b.timestamp || a.index - b.index);
  let i = 0;
  await runFfmpeg(video, args, { ...run, stdin: subset }, async (f) => {
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
