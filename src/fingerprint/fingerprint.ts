import { native, type HashFramesOptions } from '../native/binding.js';
import { probeVideo, type VideoStreamInfo } from '../media/probe.js';
import { sampleGrayFrames, SAMPLE_SIZE } from '../media/sample.js';
import { stderrSummary } from '../media/process.js';
import { VdedupError } from '../errors.js';

/** Sampling rate of fingerprints: the paper's 1 frame per second. */
export const FINGERPRINT_FPS = 1;

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
  /** Kill ffmpeg after this long; default scales with duration (2 min + 1 s per video second). */
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

/** Video file -> 1 fps pHash sequence (plus flip hashes and frame quality). */
export async function fingerprintVideo(file: string, options: FingerprintOptions = {}): Promise<Fingerprint> {
  const binding = native(); // fail before decoding when the native module is missing
  const probe = await probeVideo(file, { signal: options.signal });
  const fps = FINGERPRINT_FPS;
  const expected = expectedFrameCount(probe.duration, fps);
  const timeoutMs = options.timeoutMs ?? 120_000 + Math.ceil((probe.duration ?? 3600) * 1000);

  const hashes: BigUint64Array[] = [];
  const flips: BigUint64Array[] = [];
  const rawHashes: BigUint64Array[] = [];
  const quality: Float32Array[] = [];
  const content: Uint32Array[] = [];
  let frameCount = 0;
  const frames = sampleGrayFrames({
    absolutePath: probe.absolutePath,
    file,
    streamIndex: probe.video.index,
    fps,
    width: SAMPLE_SIZE,
    height: SAMPLE_SIZE,
    threads: options.threads,
    signal: options.signal,
    timeoutMs,
  });
  let stderr = '';
  for (;;) {
    const next = await frames.next();
    if (next.done === true) {
      stderr = next.value.stderr;
      break;
    }
    const batch = next.value;
    // Both variants from the same decoded frames: hashing costs microseconds, decoding milliseconds.
    const [hashed, raw] = await Promise.all([
      binding.hashFrames(batch.frames, SAMPLE_SIZE, SAMPLE_SIZE, { ...options.hash, trimBorders: true }),
      binding.hashFrames(batch.frames, SAMPLE_SIZE, SAMPLE_SIZE, { ...options.hash, trimBorders: false }),
    ]);
    rawHashes.push(raw.hashes);
    hashes.push(hashed.hashes);
    flips.push(hashed.flips);
    quality.push(hashed.quality);
    content.push(hashed.content);
    frameCount += batch.count;
    options.onProgress?.(frameCount, expected);
  }

  if (frameCount === 0) {
    const why = stderrSummary(stderr);
    throw new VdedupError('NO_FRAMES', `no decodable video frames${why === '' ? '' : ` (ffmpeg: ${why})`}`, { file });
  }
  // A damaged tail makes ffmpeg stop early but exit 0: compare with what the container promised.
  if (expected !== undefined && stderr !== '' && frameCount < expected - 1) {
    throw new VdedupError(
      'TRUNCATED_MEDIA',
      `truncated or corrupt video: decoded ${frameCount} of ${expected} expected frames (ffmpeg: ${stderrSummary(stderr)})`,
      { file },
    );
  }
  return {
    file,
    duration: probe.duration ?? frameCount / fps,
    fps,
    frameCount,
    hashes: concatColumns(hashes, (n) => new BigUint64Array(n)),
    flips: concatColumns(flips, (n) => new BigUint64Array(n)),
    rawHashes: concatColumns(rawHashes, (n) => new BigUint64Array(n)),
    quality: concatColumns(quality, (n) => new Float32Array(n)),
    content: concatColumns(content, (n) => new Uint32Array(n)),
    video: probe.video,
    warnings: stderr === '' ? [] : stderr.split('\n').slice(-5),
  };
}

/** 16 lowercase hex digits, as imagehash prints a 64-bit pHash. */
export function hashHex(hash: bigint): string {
  return hash.toString(16).padStart(16, '0');
}
