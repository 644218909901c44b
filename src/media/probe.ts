import { ffprobeBinary } from './binaries.js';
import { checkInputFile, fileUrl, INPUT_PROTOCOL_ARGS, openVideoBytes, type VideoInput } from './input.js';
import { spawnMedia, stderrSummary } from './process.js';
import { VdedupError } from '../errors.js';

export interface VideoStreamInfo {
  index: number;
  /** Position among all video streams (cover art included): 0 means ffmpeg's `0:v:0` is this stream. */
  videoOrdinal: number;
  codec: string;
  width: number;
  height: number;
  /** Average frame rate in frames per second, when the container states one. */
  fps: number | undefined;
  /** Display rotation in degrees (0, 90, 180, 270); ffmpeg applies it when decoding. */
  rotation: number;
  pixelFormat: string | undefined;
}

export interface ProbeResult {
  file: string;
  absolutePath: string;
  sizeBytes: number;
  format: string;
  /** Seconds; undefined when neither the container nor the stream states it. */
  duration: number | undefined;
  video: VideoStreamInfo;
  hasAudio: boolean;
}

export interface ProbeOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

interface FfprobeStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  pix_fmt?: string;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
  side_data_list?: Array<{ rotation?: number }>;
}

interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { format_name?: string; duration?: string };
}

/** Image "demuxers": a still picture decodes as a one-frame video, which is not what users mean. */
export const STILL_IMAGE_FORMAT = /(^|,)(image2|png_pipe|jpeg_pipe|webp_pipe|bmp_pipe|gif_pipe|tiff_pipe|svg_pipe|[a-z0-9]+_pipe)(,|$)/;

function parseRate(rate: string | undefined): number | undefined {
  if (rate === undefined) return undefined;
  const [num, den] = rate.split('/').map(Number);
  if (num === undefined || !Number.isFinite(num) || num <= 0) return undefined;
  const d = den === undefined ? 1 : den;
  return d > 0 ? num / d : undefined;
}

function parseSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function rotationOf(stream: FfprobeStream): number {
  const fromSideData = stream.side_data_list?.find((s) => typeof s.rotation === 'number')?.rotation;
  const raw = fromSideData ?? Number(stream.tags?.rotate ?? 0);
  const r = ((Math.round(raw) % 360) + 360) % 360;
  return Number.isFinite(r) ? r : 0;
}

/** True when the video (a file, or a member's bytes) starts like an ISO-BMFF (MP4/MOV) file: a box whose type is `ftyp`. */
export async function looksLikeMp4(input: VideoInput): Promise<boolean> {
  const bytes = await openVideoBytes(input);
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await bytes.read(head, 0, 8, 0);
    return bytesRead === 8 && head.subarray(4, 8).toString('latin1') === 'ftyp';
  } finally {
    await bytes.close();
  }
}

/** Map ffprobe's complaint to a cause a user understands. */
export function classifyMediaFailure(stderr: string, file: string, isMp4: boolean): VdedupError {
  const summary = stderrSummary(stderr) || 'ffprobe failed without a message';
  // The MP4 demuxer says "moov atom not found" both for a cut-off MP4 and for any non-MP4 bytes
  // in a file named .mp4; only a real MP4 header makes it a truncation.
  const refused = /\[(\w+) @ [^\]]*\][^\n]*Format not on whitelist/.exec(stderr);
  if (refused !== null || /Format not on whitelist/.test(stderr)) {
    const name = refused?.[1] ?? 'unknown';
    return new VdedupError('INVALID_MEDIA', `refused: its container format (${name}) is a playlist or reference format, or not a video format vdedup accepts; such files can make ffmpeg read other files`, { file });
  }
  if (isMp4 && /moov atom not found/i.test(stderr)) {
    return new VdedupError('TRUNCATED_MEDIA', `truncated or incomplete video (ffmpeg: ${summary})`, { file });
  }
  if (/Invalid data found when processing input|could not find codec parameters|Unknown input format/i.test(stderr)) {
    return new VdedupError('INVALID_MEDIA', `not a readable video file (ffmpeg: ${summary})`, { file });
  }
  if (/End of file|truncat|partial file/i.test(stderr)) {
    return new VdedupError('TRUNCATED_MEDIA', `truncated or incomplete video (ffmpeg: ${summary})`, { file });
  }
  return new VdedupError('INVALID_MEDIA', `cannot read media (ffmpeg: ${summary})`, { file });
}

/**
 * Run ffprobe and read its output, at most `maxBytes` of it (then it is stopped, and `overflow`
 * says so): the reading both probes share.
 */
async function runFfprobe(args: string[], file: string, options: ProbeOptions, maxBytes: number) {
  const proc = spawnMedia(ffprobeBinary().path, args, { file, signal: options.signal, timeoutMs: options.timeoutMs ?? 30_000 });
  const chunks: Buffer[] = [];
  let total = 0;
  let overflow = false;
  for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
    if (total + chunk.length > maxBytes) {
      overflow = true;
      proc.kill();
      break;
    }
    total += chunk.length;
    chunks.push(chunk);
  }
  const exit = await proc.exited;
  return { stdout: Buffer.concat(chunks).toString('utf8'), overflow, exit };
}

/** Container and first-video-stream facts, with a precise error for every non-video input. */
export async function probeVideo(file: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  const { absolute, size } = await checkInputFile(file);
  const args = [
    '-v',
    'error',
    ...INPUT_PROTOCOL_ARGS,
    '-print_format',
    'json',
    '-show_format',
    '-show_streams',
    fileUrl(absolute),
  ];
  // A hostile container can declare thousands of streams; 8 MiB of JSON is far beyond any real file.
  const out = await runFfprobe(args, file, options, 8 * 1024 * 1024);
  if (out.overflow) throw new VdedupError('INVALID_MEDIA', 'ffprobe output too large (hostile or broken container)', { file });
  if (out.exit.code !== 0) throw classifyMediaFailure(out.exit.stderr, file, await looksLikeMp4(absolute));

  let parsed: FfprobeOutput;
  try {
    parsed = JSON.parse(out.stdout) as FfprobeOutput;
  } catch (err) {
    throw new VdedupError('INVALID_MEDIA', 'ffprobe printed unreadable output', { file, cause: err });
  }
  const formatName = parsed.format?.format_name ?? 'unknown';
  const streams = parsed.streams ?? [];
  const videoStreams = streams.filter((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  const hasAudio = streams.some((s) => s.codec_type === 'audio');
  const first = videoStreams[0];
  if (first === undefined) {
    throw new VdedupError(
      'NO_VIDEO_STREAM',
      hasAudio ? 'no video stream (audio-only file)' : `no video stream (format: ${formatName})`,
      { file },
    );
  }
  if (STILL_IMAGE_FORMAT.test(formatName)) {
    throw new VdedupError('INVALID_MEDIA', `a still image (${formatName}), not a video`, { file });
  }
  const width = first.width ?? 0;
  const height = first.height ?? 0;
  if (width <= 0 || height <= 0) {
    throw new VdedupError('INVALID_MEDIA', `video stream has no usable dimensions (${width}x${height})`, { file });
  }
  return {
    file,
    absolutePath: absolute,
    sizeBytes: size,
    format: formatName,
    duration: parseSeconds(parsed.format?.duration) ?? parseSeconds(first.duration),
    video: {
      index: first.index ?? 0,
      videoOrdinal: streams.filter((s) => s.codec_type === 'video').indexOf(first),
      codec: first.codec_name ?? 'unknown',
      width,
      height,
      fps: parseRate(first.avg_frame_rate) ?? parseRate(first.r_frame_rate),
      rotation: rotationOf(first),
      pixelFormat: first.pix_fmt,
    },
    hasAudio,
  };
}
