import { native, type HashFramesOptions, type NativeBinding } from '../native/binding.js';
import type { InputBanner } from '../media/banner.js';
import { checkVideoInput, inputName, type VideoInput } from '../media/input.js';
import { classifyMediaFailure, looksLikeMp4, STILL_IMAGE_FORMAT, type VideoStreamInfo } from '../media/probe.js';
import { DecodeFailure, describeVideo, sampleGrayFrames, samplingSubset, SAMPLE_SIZE, type SampleResult } from '../media/sample.js';
import type { SubsetStream } from '../media/mp4/reference-subset.js';
import { MAX_TIMER_MS } from '../media/process.js';
import { VdedupError } from '../errors.js';

/** Sampling rate of fingerprints: the paper's 1 frame per second (benchmark sides may take more: phases). */
export const FINGERPRINT_FPS = 1;
/** Most samples per second a fingerprint may take (the benchmark side's sub-second phases). */
export const MAX_FINGERPRINT_FPS = 8;
/** Share of each dimension kept for the center hash: a copy cropped by 10% per side shows 80%. */
export const CENTER_CROP = 0.8;
/**
 * Share of each dimension kept for the inner hash, on both sides of a comparison: logos, captions,
 * tickers and boxes over a frame's edges leave its inner half untouched. 0.5 was chosen on the
 * evaluation's tuning half against 0.6 and 0.7 (most overlay copies found, fewest chance windows;
 * bench/README.md, "Overlays: the inner half").
 */
export const INNER_CROP = 0.5;
/**
 * Displayed shape (width / height) of the strip hashed at the center of every frame's content: a
 * portrait 9:16 crop of a landscape video (a short-video re-upload) shows exactly it.
 */
export const STRIP_ASPECT = 9 / 16;
/**
 * Samples the active regions are found from (the first ones; 10 minutes at 1 fps): they are held
 * until then (16 KiB each, 9.4 MiB at most), and the regions then apply to every later sample.
 */
export const REGION_SAMPLES = 600;

/** A rectangle of the SAMPLE_SIZE x SAMPLE_SIZE sampled frame, in its pixels. */
export interface SampleRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Fingerprint {
  file: string;
  /** Seconds: the container's duration, or frames/fps when the container states none. */
  duration: number;
  fps: number;
  frameCount: number;
  /** pHash of frame i, sampled at t = i / fps seconds. */
  hashes: BigUint64Array;
  /** pHash of the horizontally mirrored frame i. */
  flips: BigUint64Array;
  /** pHash of frame i without border trimming (the paper's literal method). */
  rawHashes: BigUint64Array;
  /** pHash of the central 80% of frame i's content: matches copies cropped at the edges. */
  centerHashes: BigUint64Array;
  /** pHash of the inner half of frame i's content (INNER_CROP): matches copies with overlays at the edges. */
  innerHashes: BigUint64Array;
  /** Information measure of frame i's inner half (a flat center is no evidence). */
  innerQuality: Float32Array;
  /** Information measure of frame i (mean absolute neighbour difference of the 32x32 image, gray levels). */
  quality: Float32Array;
  /**
   * pHash of the central strip of frame i's content whose displayed shape is STRIP_ASPECT (9:16):
   * what a portrait crop of this video shows. Empty in a fingerprint stored by an older version.
   */
  stripHashes: BigUint64Array;
  /**
   * The video's active regions (at most 2, largest first; see detectActiveRegions): where its
   * moving picture is when it fills only part of the frame (a clip over a canvas, beside a
   * face-cam, inset in another video). Empty when the picture fills the frame.
   */
  regions: SampleRect[];
  /** pHash of region k of frame i at `k * frameCount + i`, trimmed like a whole frame. */
  regionHashes: BigUint64Array;
  /** Information measure of region k of frame i, in the same layout. */
  regionQuality: Float32Array;
  /**
   * Kept content rectangle of frame i on the SAMPLE_SIZE grid: x, y, width, height. Empty in a
   * fingerprint read back from a service collection (nothing after hashing reads it).
   */
  content: Uint32Array;
  video: VideoStreamInfo;
  /** Non-fatal decoder complaints (a damaged packet in an otherwise complete video). */
  warnings: string[];
}

export interface FingerprintOptions {
  signal?: AbortSignal | undefined;
  /** Kill ffmpeg after this long; by default 2 minutes plus the video's duration. */
  timeoutMs?: number | undefined;
  /** Decoder threads per ffmpeg process (0: ffmpeg decides; scans use 1 per process and run several). */
  threads?: number;
  /** Decode less (`--fast`): see SampleOptions.fastDecode. Stored under its own key. */
  fastDecode?: boolean;
  /**
   * Decode every frame, even where the frames sampling never shows could be left out
   * (`samplingSubset`): the reference the subset is tested against.
   */
  decodeAll?: boolean;
  /**
   * Samples per second, a whole number (default 1). A benchmark side takes several: frame
   * `i * fps + j` is phase j of second i, and phase 0 is exactly the 1 fps sample (same frames).
   */
  fps?: number;
  hash?: HashFramesOptions;
  /** Called after every batch with frames done so far and the expected total. */
  onProgress?: (framesDone: number, framesExpected: number | undefined) => void;
}

/** Frames `fps=F:round=up` yields for a duration: one at every multiple of 1/F before the end. */
export function expectedFrameCount(duration: number | undefined, fps: number): number | undefined {
  if (duration === undefined) return undefined;
  return Math.max(1, Math.ceil(duration * fps - 1e-6));
}

type Column = BigUint64Array | Float32Array | Uint32Array;

/** Join per-batch result columns into one array of the same type. */
function concatColumns<T extends Column>(parts: T[], make: (length: number) => T): T {
  const out = make(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    (out as { set(a: T, offset: number): void }).set(p, at);
    at += p.length;
  }
  return out;
}

/** The sampling rate a fingerprint request asks for, checked. */
export function fingerprintFps(options: { fps?: number | undefined }): number {
  const fps = options.fps ?? FINGERPRINT_FPS;
  if (!Number.isInteger(fps) || fps < 1 || fps > MAX_FINGERPRINT_FPS) {
    throw new VdedupError('INVALID_ARGUMENT', `fingerprint fps must be a whole number from 1 to ${MAX_FINGERPRINT_FPS}, got ${fps}`);
  }
  return fps;
}

/**
 * Video -> pHash sequence at 1 fps, or `options.fps` (plus flip, untrimmed and center hashes, and
 * frame quality). The video is a file, or a member stored in an archive (`StoredMember`), read in
 * place and fingerprinted exactly as the same bytes as a file of their own; `Fingerprint.file` is
 * then the member's name.
 */
export async function fingerprintVideo(video: VideoInput, options: FingerprintOptions = {}): Promise<Fingerprint> {
  fingerprintFps(options);
  const file = inputName(video);
  const binding = native(); // fail before decoding when the native module is missing
  const { input } = await checkVideoInput(video);
  // ffmpeg describes its input on stderr (level-tagged), which replaces a separate ffprobe run.
  // Without an explicit limit, the duration it states sets one: 2 minutes plus real time. A hung
  // ffmpeg is then killed and reported as a timeout.
  if (options.signal?.aborted === true) throw new VdedupError('ABORTED', 'aborted before start', { file });
  const abortDecode = new AbortController();
  const onOuterAbort = () => abortDecode.abort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let watchdog: NodeJS.Timeout | undefined;
  let watchdogFired = false;
  const onBanner = (banner: InputBanner) => {
    if (watchdog !== undefined || options.timeoutMs !== undefined) return;
    // A header may state an absurd duration: the delay is capped (a longer one would fire at once).
    watchdog = setTimeout(() => {
      watchdogFired = true;
      abortDecode.abort();
    }, Math.min(MAX_TIMER_MS, 120_000 + Math.ceil((banner.duration ?? 4 * 3600) * 1000)));
    watchdog.unref();
  };
  try {
    const ctx: DecodeContext = { binding, input, file, options, signal: abortDecode.signal, onBanner };
    let result = await decodeOrExplain(ctx, 'first');
    const first = result.banner.video;
    if (first !== undefined && first.videoOrdinal !== 0) {
      // ffmpeg's first video stream was cover art: decode the real one.
      result = await decodeOrExplain(ctx, first.index);
    }
    return finish(file, result, fingerprintFps(options));
  } catch (err) {
    if (watchdogFired && err instanceof VdedupError && err.code === 'ABORTED') {
      throw new VdedupError('TIMEOUT', 'timed out (ffmpeg made no progress in the time the video length allows)', { file });
    }
    throw err;
  } finally {
    if (watchdog !== undefined) clearTimeout(watchdog);
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** What one fingerprinting run's decodes share. */
interface DecodeContext {
  binding: NativeBinding;
  /** The checked input (`checkVideoInput`). */
  input: VideoInput;
  file: string;
  options: FingerprintOptions;
  signal: AbortSignal;
  /** Called once per decode, when ffmpeg has finished describing its input. */
  onBanner: (banner: InputBanner) => void;
}

/**
 * Decode the H.264/HEVC MP4's frames that sampling needs (`samplingSubset`), when it can say
 * which: the same samples bit for bit, with less decoding. The subset is ffmpeg's only input; the
 * file's own description (duration, stream) comes from `describeVideo`, and the result carries it,
 * as a decode of the file would. Anything unexpected (a decoder complaint, a failure, a subset
 * whose picture is not the file's first video stream's) and the result is not used: the whole
 * stream is decoded as usual, and what that says is the answer.
 */
async function decodeSubset(ctx: DecodeContext): Promise<DecodeResult | undefined> {
  const { input, file, options, signal } = ctx;
  if (options.decodeAll === true || options.fastDecode === true) return undefined;
  const subset = await samplingSubset(input, fingerprintFps(options), signal).catch(() => undefined);
  if (subset === undefined) return undefined;
  try {
    // Both settle before anything is decided: a fallback never runs beside a decode still going.
    const [decoding, describing] = await Promise.allSettled([decodeAndHash(ctx, 'first', subset.stream), describeVideo(input, file, signal)]);
    if (decoding.status === 'rejected') throw decoding.reason;
    if (describing.status === 'rejected') throw describing.reason;
    const [result, described] = [decoding.value, describing.value];
    const decoded = result.banner.video;
    const video = described.video;
    const ok =
      result.errors.length === 0 &&
      decoded !== undefined &&
      video !== undefined &&
      video.index === subset.streamIndex &&
      video.videoOrdinal === 0 &&
      decoded.codec === video.codec &&
      decoded.width === video.width &&
      decoded.height === video.height &&
      decoded.pixelFormat === video.pixelFormat &&
      decoded.rotation === video.rotation;
    return ok ? { ...result, banner: described } : undefined;
  } catch (err) {
    if (signal.aborted) throw err;
    return undefined;
  }
}

/** Decode; when ffmpeg fails, turn what it said into the cause a user understands. */
async function decodeOrExplain(ctx: DecodeContext, streamIndex: number | 'first'): Promise<DecodeResult> {
  const { input, file } = ctx;
  try {
    return (streamIndex === 'first' ? await decodeSubset(ctx) : undefined) ?? (await decodeAndHash(ctx, streamIndex));
  } catch (err) {
    if (!(err instanceof DecodeFailure)) throw err;
    const { banner } = err;
    if (banner.format !== undefined && banner.video === undefined) {
      throw new VdedupError(
        'NO_VIDEO_STREAM',
        banner.hasAudio ? 'no video stream (audio-only file)' : `no video stream (format: ${banner.format})`,
        { file },
      );
    }
    throw classifyMediaFailure(err.diagnosis, file, await looksLikeMp4(input));
  }
}

type DecodeResult = Pick<
  Fingerprint,
  | 'frameCount'
  | 'hashes'
  | 'flips'
  | 'rawHashes'
  | 'centerHashes'
  | 'innerHashes'
  | 'innerQuality'
  | 'quality'
  | 'content'
  | 'stripHashes'
  | 'regions'
  | 'regionHashes'
  | 'regionQuality'
> &
  SampleResult;

/** Displayed width / height of a video stream (after its rotation). */
function displayAspect(video: VideoStreamInfo | undefined): number {
  if (video === undefined || video.width <= 0 || video.height <= 0) return 1;
  return video.rotation % 180 === 0 ? video.width / video.height : video.height / video.width;
}

/**
 * The hashes that depend on the whole video's shape and motion: the central strip (the displayed
 * shape is known once ffmpeg has described its input) and the active regions (found from the
 * first REGION_SAMPLES samples). Batches are held until then, and hashed as they come after.
 */
class LayoutHashes {
  private held: Buffer[] = [];
  private heldFrames = 0;
  private regions: SampleRect[] | undefined;
  private aspect = 1;
  private readonly strip: BigUint64Array[] = [];
  private readonly regionHashes: BigUint64Array[][] = [];
  private readonly regionQuality: Float32Array[][] = [];

  constructor(
    private readonly binding: NativeBinding,
    private readonly hash: HashFramesOptions | undefined,
  ) {}

  /** The displayed shape, once ffmpeg has stated it. */
  setAspect(aspect: number): void {
    this.aspect = aspect;
  }

  async add(frames: Buffer, count: number): Promise<void> {
    if (this.regions !== undefined) return this.hashBatch(frames);
    this.held.push(frames);
    this.heldFrames += count;
    if (this.heldFrames >= REGION_SAMPLES) await this.settle();
  }

  /** Every sample's layout hashes, once the last batch was added. */
  async finish(): Promise<Pick<Fingerprint, 'stripHashes' | 'regions' | 'regionHashes' | 'regionQuality'>> {
    if (this.regions === undefined) await this.settle();
    const regions = this.regions ?? [];
    return {
      stripHashes: concatColumns(this.strip, (n) => new BigUint64Array(n)),
      regions,
      regionHashes: concatColumns(this.regionHashes.flat(), (n) => new BigUint64Array(n)),
      regionQuality: concatColumns(this.regionQuality.flat(), (n) => new Float32Array(n)),
    };
  }

  private async settle(): Promise<void> {
    const held = this.held;
    this.held = [];
    this.regions = held.length === 0 ? [] : await this.binding.detectActiveRegions(held.length === 1 ? held[0]! : Buffer.concat(held), SAMPLE_SIZE, SAMPLE_SIZE);
    for (let k = 0; k < this.regions.length; k++) {
      this.regionHashes.push([]);
      this.regionQuality.push([]);
    }
    for (const frames of held) await this.hashBatch(frames);
  }

  private async hashBatch(frames: Buffer): Promise<void> {
    const { binding, hash } = this;
    const [strip, ...regions] = await Promise.all([
      binding.hashFrames(frames, SAMPLE_SIZE, SAMPLE_SIZE, { ...hash, trimBorders: true, stripAspect: STRIP_ASPECT, displayAspect: this.aspect }),
      ...this.regions!.map((region) => binding.hashFrames(frames, SAMPLE_SIZE, SAMPLE_SIZE, { ...hash, trimBorders: true, region })),
    ]);
    this.strip.push(strip!.hashes);
    regions.forEach((r, k) => {
      this.regionHashes[k]!.push(r.hashes);
      this.regionQuality[k]!.push(r.quality);
    });
  }
}

async function decodeAndHash(ctx: DecodeContext, streamIndex: number | 'first', subset?: SubsetStream): Promise<DecodeResult> {
  const { binding, input, file, options, signal, onBanner } = ctx;
  const fps = fingerprintFps(options);
  // The frames to expect, from the duration as soon as ffmpeg's description of its input states it.
  let expected: number | undefined;
  const layout = new LayoutHashes(binding, options.hash);
  const watchBanner = (banner: InputBanner) => {
    expected = expectedFrameCount(banner.duration, fps);
    if (banner.video !== undefined) layout.setAspect(displayAspect(banner.video));
    if (banner.complete) onBanner(banner);
  };
  const hashes: BigUint64Array[] = [];
  const flips: BigUint64Array[] = [];
  const rawHashes: BigUint64Array[] = [];
  const centerHashes: BigUint64Array[] = [];
  const innerHashes: BigUint64Array[] = [];
  const innerQuality: Float32Array[] = [];
  const quality: Float32Array[] = [];
  const content: Uint32Array[] = [];
  let frameCount = 0;
  const frames = sampleGrayFrames({
    input,
    file,
    streamIndex,
    fps,
    width: SAMPLE_SIZE,
    height: SAMPLE_SIZE,
    threads: options.threads,
    fastDecode: options.fastDecode,
    subset,
    signal,
    timeoutMs: options.timeoutMs,
    describeInput: true,
    onBanner: watchBanner,
  });
  let said: SampleResult;
  for (;;) {
    const next = await frames.next();
    if (next.done === true) {
      said = next.value;
      if (said.banner.video !== undefined) layout.setAspect(displayAspect(said.banner.video));
      break;
    }
    const batch = next.value;
    // All variants from the same decoded frames: hashing is cheap next to decoding.
    const [hashed, raw, center, inner] = await Promise.all([
      binding.hashFrames(batch.frames, SAMPLE_SIZE, SAMPLE_SIZE, { ...options.hash, trimBorders: true }),
      binding.hashFrames(batch.frames, SAMPLE_SIZE, SAMPLE_SIZE, { ...options.hash, trimBorders: false }),
      binding.hashFrames(batch.frames, SAMPLE_SIZE, SAMPLE_SIZE, { ...options.hash, trimBorders: true, centerCrop: CENTER_CROP }),
      binding.hashFrames(batch.frames, SAMPLE_SIZE, SAMPLE_SIZE, { ...options.hash, trimBorders: true, centerCrop: INNER_CROP }),
    ]);
    centerHashes.push(center.hashes);
    innerHashes.push(inner.hashes);
    innerQuality.push(inner.quality);
    hashes.push(hashed.hashes);
    flips.push(hashed.flips);
    rawHashes.push(raw.hashes);
    quality.push(hashed.quality);
    content.push(hashed.content);
    await layout.add(batch.frames, batch.count);
    frameCount += batch.count;
    options.onProgress?.(frameCount, expected);
  }
  return {
    frameCount,
    banner: said.banner,
    errors: said.errors,
    hashes: concatColumns(hashes, (n) => new BigUint64Array(n)),
    flips: concatColumns(flips, (n) => new BigUint64Array(n)),
    rawHashes: concatColumns(rawHashes, (n) => new BigUint64Array(n)),
    centerHashes: concatColumns(centerHashes, (n) => new BigUint64Array(n)),
    innerHashes: concatColumns(innerHashes, (n) => new BigUint64Array(n)),
    innerQuality: concatColumns(innerQuality, (n) => new Float32Array(n)),
    quality: concatColumns(quality, (n) => new Float32Array(n)),
    content: concatColumns(content, (n) => new Uint32Array(n)),
    ...(await layout.finish()),
  };
}

function finish(file: string, r: DecodeResult, fps: number): Fingerprint {
  const { banner, errors } = r;
  if (banner.format !== undefined && STILL_IMAGE_FORMAT.test(banner.format)) {
    throw new VdedupError('INVALID_MEDIA', `a still image (${banner.format}), not a video`, { file });
  }
  if (r.frameCount === 0 || banner.video === undefined) {
    const why = errors.slice(-3).join(' | ');
    throw new VdedupError('NO_FRAMES', `no decodable video frames${why === '' ? '' : ` (ffmpeg: ${why})`}`, { file });
  }
  // A damaged tail makes ffmpeg stop early but exit 0: compare with what the container promised.
  const expected = expectedFrameCount(banner.duration, fps);
  if (expected !== undefined && errors.length > 0 && r.frameCount < expected - fps) {
    throw new VdedupError(
      'TRUNCATED_MEDIA',
      `truncated or corrupt video: decoded ${r.frameCount} of ${expected} expected frames (ffmpeg: ${errors.slice(-3).join(' | ')})`,
      { file },
    );
  }
  return {
    file,
    duration: banner.duration ?? r.frameCount / fps,
    fps,
    frameCount: r.frameCount,
    hashes: r.hashes,
    flips: r.flips,
    rawHashes: r.rawHashes,
    centerHashes: r.centerHashes,
    innerHashes: r.innerHashes,
    innerQuality: r.innerQuality,
    quality: r.quality,
    content: r.content,
    stripHashes: r.stripHashes,
    regions: r.regions,
    regionHashes: r.regionHashes,
    regionQuality: r.regionQuality,
    video: banner.video,
    warnings: errors.slice(-5),
  };
}

/** 16 lowercase hex digits, as imagehash prints a 64-bit pHash. */
export function hashHex(hash: bigint): string {
  return hash.toString(16).padStart(16, '0');
}

/**
 * Every `step`-th value of a column from index `first`: phase `first` of a column taken at `step`
 * samples per second, as a 1 fps column. `atOneFps` and the benchmark side's phases read this.
 */
export function everyNth<T extends BigUint64Array | Float32Array>(col: T, first: number, step: number): T {
  const out = new (col.constructor as new (n: number) => T)(Math.max(0, Math.ceil((col.length - first) / step)));
  for (let i = 0; i < out.length; i++) out[i] = col[first + i * step]!;
  return out;
}

/** Region `k`'s column of a region-major column (`regionHashes`, `regionQuality`): one value per frame. */
export function regionColumn<T extends BigUint64Array | Float32Array>(col: T, fp: Pick<Fingerprint, 'frameCount'>, k: number): T {
  return col.subarray(k * fp.frameCount, (k + 1) * fp.frameCount) as T;
}

/** `f` applied to each region's column of a region-major column (`regionHashes`, `regionQuality`), joined again. */
export function perRegion<T extends BigUint64Array | Float32Array>(col: T, fp: Pick<Fingerprint, 'regions' | 'frameCount'>, f: (region: T) => T): T {
  const parts = fp.regions.map((_, k) => f(regionColumn(col, fp, k)));
  return concatColumns(parts, (len) => new (col.constructor as new (n: number) => T)(len));
}

/** The 1 fps fingerprint inside one taken at several samples per second (its phase 0: the same frames). */
export function atOneFps(fp: Fingerprint): Fingerprint {
  if (fp.fps === 1) return fp;
  const step = fp.fps;
  const n = Math.ceil(fp.frameCount / step);
  const content = new Uint32Array(fp.content.length === 0 ? 0 : 4 * n);
  for (let i = 0; i < n && content.length > 0; i++) content.set(fp.content.subarray(4 * i * step, 4 * i * step + 4), 4 * i);
  return {
    ...fp,
    fps: 1,
    frameCount: n,
    hashes: everyNth(fp.hashes, 0, step),
    flips: everyNth(fp.flips, 0, step),
    rawHashes: everyNth(fp.rawHashes, 0, step),
    centerHashes: everyNth(fp.centerHashes, 0, step),
    innerHashes: everyNth(fp.innerHashes, 0, step),
    innerQuality: everyNth(fp.innerQuality, 0, step),
    quality: everyNth(fp.quality, 0, step),
    content,
    stripHashes: everyNth(fp.stripHashes, 0, step),
    regionHashes: perRegion(fp.regionHashes, fp, (col) => everyNth(col, 0, step)),
    regionQuality: perRegion(fp.regionQuality, fp, (col) => everyNth(col, 0, step)),
  };
}
