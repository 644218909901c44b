import { errorLines, parseInputBanner, type InputBanner } from './banner.js';
import { ffmpegBinary } from './binaries.js';
import { INPUT_PROTOCOL_ARGS, inputProtocolArgs, inputUrl, type VideoInput } from './input.js';
import { spawnMedia, stderrSummary } from './process.js';
import { VdedupError } from '../errors.js';
import { referenceSubset, type SubsetStream } from './mp4/reference-subset.js';
import { readSampleTable } from './mp4/sample-table.js';

/**
 * ffmpeg exited with an error. What it said lets the caller say why in terms a user understands:
 * its description of the input (as far as it got), and the text that names the cause.
 */
export class DecodeFailure extends VdedupError {
  readonly banner: InputBanner;
  /**
   * The error-level lines, without their level tags; all of stderr when the input's format was
   * refused (the demuxer's name is in the line prefix that the tags come with).
   */
  readonly diagnosis: string;
  constructor(file: string, stderr: string, code: number | null) {
    super('FFMPEG_FAILED', `decoding failed (ffmpeg: ${stderrSummary(stderr) || `exit ${code}`})`, { file });
    this.banner = parseInputBanner(stderr);
    this.diagnosis = /Format not on whitelist/.test(stderr) ? stderr : errorLines(stderr).join('\n');
  }
}

/** Frame size handed to the native hasher: small enough to be cheap, big enough to trim borders precisely. */
export const SAMPLE_SIZE = 128;

export interface SampleOptions {
  /** Absolute path of a file already checked (`checkVideoInput`, `probeVideo`); not read when `input` is given. */
  absolutePath?: string;
  /** The video, checked by `checkVideoInput`: a file's absolute path, or a member of an archive read in place. */
  input?: VideoInput;
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
  /**
   * Decode this stream (`samplingSubset`: the video track without frames no sample needs) instead
   * of the file: it is ffmpeg's only input, so the description (`describeInput`) is the subset's;
   * `describeVideo` gives the file's.
   */
  subset?: SubsetStream | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  /**
   * Have ffmpeg describe its input on stderr (format, duration, streams: `InputBanner`), which
   * then needs no ffprobe run; without it stderr keeps to complaints and the banner states nothing.
   */
  describeInput?: boolean;
  /**
   * With `describeInput`: the description as far as it has arrived, at each stderr chunk until it
   * is complete (the last call's banner says `complete`), or until 64 KB came without that.
   */
  onBanner?: ((banner: InputBanner) => void) | undefined;
}

/** What ffmpeg said once it has decoded the whole video. */
export interface SampleResult {
  /** Its description of the input (with `describeInput`). */
  banner: InputBanner;
  /** Its error-level lines, without their level tags: decoder complaints that did not stop it. */
  errors: string[];
}

export interface FrameBatch {
  /** `count` gray frames, width*height bytes each, back to back. */
  frames: Buffer;
  count: number;
  /** Index (in sampling order) of the first frame of this batch. */
  firstIndex: number;
}

/**
 * The sampling filter shared by every front door. Time 0 is the first frame's time (`setpts`), as
 * `vdedup frames` defines it: the container's time 0 can lie before the video (an audio track that
 * starts first, B-frame delay without an edit list, an empty edit), and ffmpeg's `fps` would then
 * give its first tick the frame of the second one and shift every tick by the gap. `round=up`
 * puts frame n at exactly n/fps seconds; the default rounding would pick frames half an interval
 * late and `-r` picks irregular ones.
 */
export function samplingFilter(fps: number, width: number, height: number): string {
  return `setpts=PTS-STARTPTS,fps=${fps}:round=up,scale=${width}:${height}:flags=area,format=gray`;
}

/** Frames this close to a sampling tick are kept on both sides of it (see `samplingSubset`). */
const TICK_MARGIN_S = 1e-6;

/** Above this share of a track's samples kept, a subset costs more (a second read, a pipe) than it saves. */
const SUBSET_MAX_KEPT = 0.7;

/**
 * The first video track of an H.264 or HEVC MP4/MOV without the non-reference frames sampling at
 * `fps` never shows: decoding it gives the same samples, bit for bit, with less work. `fps` (the
 * sampling filter) shows at tick t the frame on screen at t, counted from the first frame; only
 * presentation times and the end of the stream decide which, and leaving frames out changes
 * neither for the frames kept: for each tick the frame on screen stays (with a neighbour that lies
 * within a microsecond of the tick), and so do the first frame and the whole end of the video. Undefined where that
 * cannot be stated (no sample table: not an MP4, a rotated or edited-in-pieces one; neither H.264
 * nor an HEVC stream src/media/hevc.ts reads) or would save too little. `streamIndex`: ffmpeg's
 * index of that track in the file. A member of an archive is read in place, as a file of its own
 * (a table pointing outside its range is refused).
 */
export async function samplingSubset(input: VideoInput, fps: number, signal?: AbortSignal): Promise<{ stream: SubsetStream; streamIndex: number } | undefined> {
  const table = await readSampleTable(input, signal);
  if (table === undefined || table.nalLengthSize === undefined || table.videoOrdinal !== 0) return undefined;
  const times = table.frameTimes;
  const n = times.length;
  const wanted = new Set<number>([0]);
  let j = 0;
  for (let k = 0; k / fps <= table.duration; k++) {
    const tick = k / fps;
    while (j + 1 < n && times[j + 1]! <= tick) j++;
    wanted.add(j);
    // The filter compares exact integers (ceil(pts * fps / timescale) <= k); the table's times are
    // those integers divided once, so a tie gives equal doubles and the comparison above is the
    // filter's. A neighbour within a microsecond of the tick stays anyway: a file whose times are
    // not what the table says (a demuxer's own rounding) costs a frame, never a wrong one.
    if (j + 1 < n && times[j + 1]! - tick < TICK_MARGIN_S) wanted.add(j + 1);
    if (j > 0 && tick - times[j]! < TICK_MARGIN_S) wanted.add(j - 1);
  }
  const endFrom = table.duration - 2 / fps;
  for (let f = n - 1; f >= 0 && times[f]! >= endFrom; f--) wanted.add(f);
  // The last samples in decode order too: the frames the stream ends with keep their durations.
  for (let f = 0; f < n; f++) if (table.sampleOfFrame[f]! >= n - 16) wanted.add(f);
  const stream = await referenceSubset(input, table, wanted, SUBSET_MAX_KEPT);
  return stream === undefined ? undefined : { stream, streamIndex: table.streamIndex };
}

export const FAST_DECODE_ARGS = ['-skip_loop_filter', 'all', '-skip_frame', 'noref'];

/** The video a `SampleOptions` names. */
function inputOf(opts: SampleOptions): VideoInput {
  const input = opts.input ?? opts.absolutePath;
  if (input === undefined) throw new VdedupError('INVALID_ARGUMENT', 'no input to sample', { file: opts.file });
  return input;
}

export function samplingArgs(opts: SampleOptions): string[] {
  const input = inputOf(opts);
  const width = opts.width ?? SAMPLE_SIZE;
  const height = opts.height ?? SAMPLE_SIZE;
  return [
    '-nostdin',
    '-hide_banner',
    ...(opts.describeInput === true ? ['-nostats', '-loglevel', 'level+info'] : ['-loglevel', 'error']),
    ...(opts.threads !== undefined && opts.threads > 0 ? ['-threads', String(opts.threads)] : []),
    ...(opts.fastDecode === true ? FAST_DECODE_ARGS : []),
    // The subset alone: reading the file too as a second input (for its description) cost a
    // fifth of a 720p decode (its packets are demuxed and queued to the end).
    ...(opts.subset === undefined ? [...inputProtocolArgs(input), '-i', inputUrl(input)] : [...INPUT_PROTOCOL_ARGS, '-f', 'mov', '-i', 'pipe:0']),
    '-map',
    opts.subset !== undefined ? '0:0' : opts.streamIndex === 'first' ? '0:v:0' : `0:${opts.streamIndex}`,
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
 * ffmpeg's description of a video (format, duration, streams), without decoding anything: what a
 * decode of the file itself says first, for a decode that reads a subset instead. Process start
 * and probing cost about 60 ms of CPU.
 */
export async function describeVideo(input: VideoInput, file: string, signal?: AbortSignal): Promise<InputBanner> {
  const proc = spawnMedia(ffmpegBinary().path, ['-nostdin', '-hide_banner', '-nostats', '-loglevel', 'level+info', ...inputProtocolArgs(input), '-i', inputUrl(input)], {
    file,
    signal,
    timeoutMs: 60_000,
  });
  proc.stdout.resume();
  // Without an output ffmpeg stops after describing its input (exit 1, "At least one output file").
  const exit = await proc.exited;
  const banner = parseInputBanner(exit.stderr);
  return { ...banner, complete: banner.format !== undefined };
}

/** ffmpeg's description of its input comes first on stderr: parsed as it arrives, until complete. */
function bannerWatcher(onBanner: ((banner: InputBanner) => void) | undefined): ((chunk: string) => void) | undefined {
  if (onBanner === undefined) return undefined;
  let head = '';
  let described = false;
  return (chunk) => {
    if (described || head.length > 64 * 1024) return;
    head += chunk;
    const banner = parseInputBanner(head);
    if (banner.complete) described = true;
    onBanner(banner);
  };
}

/**
 * Decode and sample a video, yielding raw gray frames in batches. Memory stays bounded for any
 * video length: the pipe applies backpressure while the consumer works on a batch.
 * Stopping early (break, throw, abort) kills ffmpeg.
 */
export async function* sampleGrayFrames(opts: SampleOptions): AsyncGenerator<FrameBatch, SampleResult> {
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
    stdin: opts.subset?.(),
    onStderr: opts.describeInput === true ? bannerWatcher(opts.onBanner) : undefined,
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
    return { banner: parseInputBanner(exit.stderr), errors: errorLines(exit.stderr) };
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
