import { native, type HashFramesOptions, type NativeBinding } from '../native/binding.js';
import { checkInputFile } from '../media/input.js';
import { probeVideo, type ProbeResult, type VideoStreamInfo } from '../media/probe.js';
import { sampleGrayFrames, SAMPLE_SIZE } from '../media/sample.js';
import { stderrSummary } from '../media/process.js';
import { VdedupError } from '../errors.js';

/** Sampling rate of fingerprints: the paper's 1 frame per second. */
export const FINGERPRINT_FPS = 1;
/** Share of each dimension kept for the center hash: a copy cropped by 10% per side shows 80%. */
export const CENTER_CROP = 0.8;

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
  /** Information measure of frame i (mean absolute neighbour difference of the 32x32 image, gray levels). */
  quality: Float32Array;
  /** Kept content rectangle of frame i on the SAMPLE_SIZE grid: x, y, width, height. */
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

/** Video file -> 1 fps pHash sequence (plus flip hashes, unTrimmed hashes and frame quality). */
export async function fingerprintVideo(file: string, options: FingerprintOptions = {}): Promise<Fingerprint> {
  const binding = native(); // fail before decoding when the native module is missing
  const { absolute } = await checkInputFile(file);
  // Probe and decode start together: the probe's ~50 ms would otherwise add to every video. ffmpeg
  // decodes its first video stream; in the rare file whose first video stream is cover art, the
  // probe says so and we decode again with the right stream.
  const probing = probeVideo(file, { signal: options.signal });
  probing.catch(() => undefined);
  const abortDecode = new AbortController();
  const onOuterAbort = () => abortDecode.abort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  // Without an explicit limit, the probe's duration sets one: 2 minutes plus real time. A hung
  // ffmpeg is then killed and reported as a timeout.
  let watchdog: NodeJS.Timeout | undefined;
  let watchdogFired = false;
  if (options.timeoutMs === undefined) {
    void probing.then(
      (p) => {
        watchdog = setTimeout(() => {
          watchdogFired = true;
          abortDecode.abort();
        }, 120_000 + Math.ceil((p.duration ?? 4 * 3600) * 1000));
        watchdog.unref();
      },
      () => undefined,
    );
  }
  try {
    let result: DecodeResult;
    try {
      result = await decodeAndHash(binding, absolute, file, 'first', options, abortDecode.signal, probing);
    } catch (err) {
      // A file ffprobe cannot read gets ffprobe's clearer diagnosis; a decode failure otherwise.
      await probing;
      throw err;
    }
    const probe = await probing;
    if (probe.video.videoOrdinal !== 0) {
      result = await decodeAndHash(binding, absolute, file, probe.video.index, options, abortDecode.signal, probing);
    }
    return finish(file, probe, result);
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

interface DecodeResult {
  frameCount: number;
  stderr: string;
  hashes: BigUint64Array;
  flips: BigUint64Array;
  rawHashes: BigUint64Array;
  centerHashes: BigUint64Array;
  quality: Float32Array;
  content: Uint32Array;
}

async function decodeAndHash(
  binding: NativeBinding,
  absolutePath: string,
  file: string,
  streamIndex: number | 'first',
  options: FingerprintOptions,
  signal: AbortSignal,
  probing: Promise<ProbeResult>,
): Promise<DecodeResult> {
  let expected: number | undefined;
  void probing.then(
    (p) => (expected = expectedFrameCount(p.duration, FINGERPRINT_FPS)),
    () => undefined,
  );
  const hashes: BigUint64Array[] = [];
  const flips: BigUint64Array[] = [];
  const rawHashes: BigUint64Array[] = [];
  const centerHashes: BigUint64Array[] = [];
  const quality: Float32Array[] = [];
  const content: Uint32Array[] = [];
  let frameCount = 0;
  const frames = sampleGrayFrames({
    absolutePath,
    file,
    streamIndex,
    fps: FINGERPRINT_FPS,
    width: SAMPLE_SIZE,
    height: SAMPLE_SIZE,
    threads: options.threads,
    signal,
    timeoutMs: options.timeoutMs,
  });
  let stderr = '';
  for (;;) {
    const next = await frames.next();
    if (next.done === true) {
      stderr = next.value.stderr;
      break;
    }
    const batch = next.value;
    // All variants from the same decoded frames: hashing costs microseconds, decoding milliseconds.
    const [hashed, raw, center] = await Promise.all([
      binding.hashFrames(batch.frames, SAMPLE_SIZE, SAMPLE_SIZE, { ...options.hash, trimBorders: true }),
      binding.hashFrames(batch.frames, SAMPLE_SIZE, SAMPLE_SIZE, { ...options.hash, trimBorders: false }),
      binding.hashFrames(batch.frames, SAMPLE_SIZE, SAMPLE_SIZE, { ...options.hash, trimBorders: true, centerCrop: CENTER_CROP }),
    ]);
    centerHashes.push(center.hashes);
    hashes.push(hashed.hashes);
    flips.push(hashed.flips);
    rawHashes.push(raw.hashes);
    quality.push(hashed.quality);
    content.push(hashed.content);
    frameCount += batch.count;
    options.onProgress?.(frameCount, expected);
  }
  return {
    frameCount,
    stderr,
    hashes: concatColumns(hashes, (n) => new BigUint64Array(n)),
    flips: concatColumns(flips, (n) => new BigUint64Array(n)),
    rawHashes: concatColumns(rawHashes, (n) => new BigUint64Array(n)),
    centerHashes: concatColumns(centerHashes, (n) => new BigUint64Array(n)),
    quality: concatColumns(quality, (n) => new Float32Array(n)),
    content: concatColumns(content, (n) => new Uint32Array(n)),
  };
}

function finish(file: string, probe: ProbeResult, r: DecodeResult): Fingerprint {
  const expected = expectedFrameCount(probe.duration, FINGERPRINT_FPS);
  if (r.frameCount === 0) {
    const why = stderrSummary(r.stderr);
    throw new VdedupError('NO_FRAMES', `no decodable video frames${why === '' ? '' : ` (ffmpeg: ${why})`}`, { file });
  }
  // A damaged tail makes ffmpeg stop early but exit 0: compare with what the container promised.
  if (expected !== undefined && r.stderr !== '' && r.frameCount < expected - 1) {
    throw new VdedupError(
      'TRUNCATED_MEDIA',
      `truncated or corrupt video: decoded ${r.frameCount} of ${expected} expected frames (ffmpeg: ${stderrSummary(r.stderr)})`,
      { file },
    );
  }
  return {
    file,
    duration: probe.duration ?? r.frameCount / FINGERPRINT_FPS,
    fps: FINGERPRINT_FPS,
    frameCount: r.frameCount,
    hashes: r.hashes,
    flips: r.flips,
    rawHashes: r.rawHashes,
    centerHashes: r.centerHashes,
    quality: r.quality,
    content: r.content,
    video: probe.video,
    warnings: r.stderr === '' ? [] : r.stderr.split('\n').slice(-5),
  };
}

/** 16 lowercase hex digits, as imagehash prints a 64-bit pHash. */
export function hashHex(hash: bigint): string {
  return hash.toString(16).padStart(16, '0');
}
