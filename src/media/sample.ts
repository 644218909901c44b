import { ffmpegBinary } from './binaries.js';
import { fileUrl, INPUT_PROTOCOL_ARGS } from './input.js';
import { spawnMedia, stderrSummary } from './process.js';
import { VdedupError } from '../errors.js';

/** ffmpeg exited with an error; `stderr` lets the caller say why in terms a user understands. */
export class DecodeFailure extends VdedupError {
  readonly stderr: string;
  constructor(file: string, stderr: string, code: number | null) {
    super('FFMPEG_FAILED', `decoding failed (ffmpeg: ${stderrSummary(stderr) || `exit ${code}`})`, { file });
    this.stderr = stderr;
  }
}

/** Frame size handed to the native hasher: small enough to be cheap, big enough to trim borders precisely. */
export const SAMPLE_SIZE = 128;

export interface SampleOptions {
  /** Absolute path of a file already checked by `probeVideo`. */
  absolutePath: string;
  /** Name used in errors (what the user typed). */
  file: string;
  /** Video stream to decode: an absolute stream index (from a probe), or 'first' for ffmpeg's `0:v:0`. */
  streamIndex: number | 'first';
  /** Frames per second to sample; frames land on multiples of 1/fps (`fps=F:round=up`). */
  fps: number;
  width?: number;
  height?: number;
  /** Frames per yielded batch; bounds memory to batchFrames * width * height bytes (plus pipe buffers). */
  batchFrames?: number;
  /** Decoder threads per ffmpeg process (0: ffmpeg decides). */
  threads?: number;
  /**
   * Decode less: skip the in-loop deblocking filter and frames no other frame references
   * (`-skip_loop_filter all -skip_frame noref`). A sampled second then shows the nearest decoded
   * frame at or before it, slightly blockier; hashes drift a little (measured in bench/README).
   */
  fastDecode?: boolean;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  /**
   * 'error' (default) keeps stderr to complaints; 'info' also has ffmpeg describe its input, with
   * level tags (parsed by media/banner.ts instead of running ffprobe).
   */
  logLevel?: 'error' | 'info';
  onStderr?: ((chunk: string) => void) | undefined;
}

export interface FrameBatch {
  /** `count` gray frames, width*height bytes each, back to back. */
  frames: Buffer;
  count: number;
  /** Index (in sampling order) of the first frame of this batch. */
  firstIndex: number;
}

/**
 * The sampling filter shared by every front door. `round=up` puts frame n at exactly n/fps
 * seconds; the default rounding would pick frames ~0.5 s late and `-r` picks irregular ones.
 */
export function samplingFilter(fps: number, width: number, height: number): string {
  return `fps=${fps}:round=up,scale=${width}:${height}:flags=area,format=gray`;
}

export const FAST_DECODE_ARGS = ['-skip_loop_filter', 'all', '-skip_frame', 'noref'];

export function samplingArgs(opts: SampleOptions): string[] {
  const width = opts.width ?? SAMPLE_SIZE;
  const height = opts.height ?? SAMPLE_SIZE;
  return [
    '-nostdin',
    '-hide_banner',
    ...(opts.logLevel === 'info' ? ['-nostats', '-loglevel', 'level+info'] : ['-loglevel', 'error']),
    ...(opts.threads !== undefined && opts.threads > 0 ? ['-threads', String(opts.threads)] : []),
    ...(opts.fastDecode === true ? FAST_DECODE_ARGS : []),
    ...INPUT_PROTOCOL_ARGS,
    '-i',
    fileUrl(opts.absolutePath),
    '-map',
    opts.streamIndex === 'first' ? '0:v:0' : `0:${opts.streamIndex}`,
    '-an',
    '-sn',
    '-dn',
    '-vf',
    samplingFilter(opts.fps, width, height),
    '-f',
    'rawvideo',
    '-pix_fmt',
    'gray',
    'pipe:1',
  ];
}

/**
 * Decode and sample a video, yielding raw gray frames in batches. Memory stays bounded for any
 * video length: the pipe applies backpressure while the consumer works on a batch.
 * Stopping early (break, throw, abort) kills ffmpeg.
 */
export async function* sampleGrayFrames(opts: SampleOptions): AsyncGenerator<FrameBatch, { stderr: string }> {
  if (!(opts.fps > 0) || !Number.isFinite(opts.fps)) {
    throw new VdedupError('INVALID_ARGUMENT', `fps must be a positive number, got ${opts.fps}`, { file: opts.file });
  }
  const width = opts.width ?? SAMPLE_SIZE;
  const height = opts.height ?? SAMPLE_SIZE;
  const frameBytes = width * height;
  const batchFrames = Math.max(1, opts.batchFrames ?? 64);
  const proc = spawnMedia(ffmpegBinary().path, samplingArgs(opts), {
    file: opts.file,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs,
    onStderr: opts.onStderr,
  });

  let batch = Buffer.allocUnsafe(batchFrames * frameBytes);
  let filled = 0;
  let emitted = 0;
  let finished = false;
  try {
    for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const n = Math.min(chunk.length - offset, batch.length - filled);
        chunk.copy(batch, filled, offset, offset + n);
        filled += n;
        offset += n;
        if (filled === batch.length) {
          yield { frames: batch, count: batchFrames, firstIndex: emitted };
          emitted += batchFrames;
          // A fresh buffer: the consumer (native hashing) may still hold the previous one.
          batch = Buffer.allocUnsafe(batchFrames * frameBytes);
          filled = 0;
        }
      }
    }
    const exit = await proc.exited;
    if (exit.code !== 0) {
      throw new DecodeFailure(opts.file, exit.stderr, exit.code);
    }
    const whole = Math.floor(filled / frameBytes);
    if (whole > 0) {
      yield { frames: batch.subarray(0, whole * frameBytes), count: whole, firstIndex: emitted };
    }
    finished = true;
    return { stderr: exit.stderr };
  } catch (err) {
    if (err instanceof VdedupError) throw err;
    throw new VdedupError('FFMPEG_FAILED', `reading frames from ffmpeg failed: ${(err as Error).message}`, {
      file: opts.file,
      cause: err,
    });
  } finally {
    if (!finished) proc.kill();
  }
}
