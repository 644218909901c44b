import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { VdedupError } from '../errors.js';

/**
 * A video stored inside another file (an uncompressed tar member, a stored zip member): its bytes
 * are [offset, offset + size) of `file`, read in place (never copied out). Everything that reads a
 * video (ffmpeg, the MP4 sample table, the H.264 subset, the content key) sees exactly those bytes,
 * at offsets counted from the member's first byte, as if they were a file of their own.
 */
export interface StoredMember {
  /** Path of the archive (made absolute by `checkVideoInput`). */
  file: string;
  /** Where the member's data starts in the archive. */
  offset: number;
  /** The member's size in bytes. */
  size: number;
  /** For messages and results: `<archive>#<member name>`. */
  name: string;
}

/** A video: a file of its own (its path) or a member stored in an archive. */
export type VideoInput = string | StoredMember;

export function isStoredMember(input: VideoInput): input is StoredMember {
  return typeof input !== 'string';
}

/** How an input is named in errors and results: the path as given, or the member's `name`. */
export function inputName(input: VideoInput): string {
  return typeof input === 'string' ? input : input.name;
}

/** A stat error as the error a user understands. */
function statFailure(err: unknown, name: string, what: string): VdedupError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new VdedupError('FILE_NOT_FOUND', `no such ${what}`, { file: name, cause: err });
  return new VdedupError('NOT_A_FILE', `cannot read${what === 'file' ? '' : ` the ${what}`}: ${(err as Error).message}`, { file: name, cause: err });
}

/**
 * Check a local input before any ffmpeg process starts, so the common mistakes (typo in a
 * path, a directory, a zero-byte download) get a precise message instantly.
 * Returns the absolute path and the size in bytes.
 */
export async function checkInputFile(file: string): Promise<{ absolute: string; size: number }> {
  const absolute = path.resolve(file);
  let info;
  try {
    info = await stat(absolute);
  } catch (err) {
    throw statFailure(err, file, 'file');
  }
  if (!info.isFile()) {
    throw new VdedupError('NOT_A_FILE', info.isDirectory() ? 'is a directory, not a video file' : 'not a regular file', {
      file,
    });
  }
  if (info.size === 0) {
    throw new VdedupError('EMPTY_FILE', 'empty file (0 bytes)', { file });
  }
  return { absolute, size: info.size };
}

/**
 * `checkInputFile` for any input. A member: its archive exists and is a regular file, its range is
 * whole numbers, not empty, and lies inside the archive (an archive shorter than its listing says
 * is TRUNCATED_MEDIA); errors name `<archive>#<member>`. Returns the input with an absolute path
 * (what every reader below takes) and the video's size in bytes.
 */
export async function checkVideoInput(input: VideoInput): Promise<{ input: VideoInput; size: number }> {
  if (typeof input === 'string') {
    const { absolute, size } = await checkInputFile(input);
    return { input: absolute, size };
  }
  const { name, offset, size } = input;
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(size) || size < 0 || !Number.isSafeInteger(offset + size)) {
    throw new VdedupError('INVALID_ARGUMENT', `member range is not whole bytes: offset ${offset}, size ${size}`, { file: name });
  }
  const archive = path.resolve(input.file);
  let info;
  try {
    info = await stat(archive);
  } catch (err) {
    throw statFailure(err, name, `archive (${archive})`);
  }
  if (!info.isFile()) {
    throw new VdedupError('NOT_A_FILE', `the archive is ${info.isDirectory() ? 'a directory' : 'not a regular file'} (${archive})`, { file: name });
  }
  if (size === 0) throw new VdedupError('EMPTY_FILE', 'empty member (0 bytes)', { file: name });
  if (offset + size > info.size) {
    throw new VdedupError(
      'TRUNCATED_MEDIA',
      `the member's bytes [${offset}, ${offset + size}) run past the end of the archive (${info.size} bytes): truncated archive, or a stale listing`,
      { file: name },
    );
  }
  return { input: { ...input, file: archive }, size };
}

/**
 * A video's bytes for the in-process readers (MP4 boxes, H.264 samples, the content key): a file,
 * or a member's range of its archive with positions counted from the member's start. A read never
 * returns a byte outside the range: whatever a member's own tables say, the neighbouring members
 * cannot be read through it.
 */
export interface VideoBytes {
  /** The video's size (a member's `size`; a file's size when opened). */
  readonly size: number;
  /** Like FileHandle.read at `position` of the video; short (0 bytes) at or past its end. */
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

class RangeBytes implements VideoBytes {
  constructor(
    private readonly handle: FileHandle,
    private readonly start: number,
    readonly size: number,
  ) {}

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    const n = Math.min(length, this.size - position);
    if (!(position >= 0) || !(n > 0)) return { bytesRead: 0 };
    const { bytesRead } = await this.handle.read(buffer, offset, n, this.start + position);
    return { bytesRead: Math.min(bytesRead, n) };
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** Open an input (checked by `checkVideoInput`) for reading in-process. */
export async function openVideoBytes(input: VideoInput): Promise<VideoBytes> {
  const handle = await open(typeof input === 'string' ? input : input.file, 'r');
  try {
    if (typeof input !== 'string') return new RangeBytes(handle, input.offset, input.size);
    return new RangeBytes(handle, 0, (await handle.stat()).size);
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * ffmpeg input URL for a local path. The `file:` prefix stops ffmpeg from reading a name as an
 * option (leading '-') or as another protocol (`http:`, `concat:`, `pipe:` ...).
 */
export function fileUrl(absolutePath: string): string {
  return `file:${absolutePath}`;
}

/**
 * ffmpeg input URL for an input: `fileUrl` for a file; for a member ffmpeg's `subfile` protocol,
 * `subfile,,start,<offset>,end,<offset + size>,,:file:<archive>`. ffmpeg (libavformat/avio.c)
 * takes `,`-separated key/value pairs after `subfile,` up to the empty key (the `,,`) and opens
 * the rest after `:` as the inner URL: the archive's path, behind `file:` as above, may hold
 * commas, colons and spaces. subfile reads [start, end) (end exclusive), answers the size as
 * end - start, counts seeks from start, refuses seeks before it and returns end of file at `end`:
 * ffmpeg sees the member as a file of its own, seekable (an MP4 with its moov at the end
 * works), and cannot read the neighbouring members.
 */
export function inputUrl(input: VideoInput): string {
  if (typeof input === 'string') return fileUrl(input);
  return `subfile,,start,${input.offset},end,${input.offset + input.size},,:${fileUrl(input.file)}`;
}

/**
 * Container formats (demuxers) ffmpeg may use for our inputs: real video containers and raw
 * elementary streams. Left out on purpose: playlists and reference formats (hls, dash, concat,
 * ffconcat, image2 sequences, subtitles, "tty" text rendering...), which make ffmpeg open the
 * files a crafted input names, even with only the `file` protocol allowed.
 */
export const SAFE_DEMUXERS = [
  'mov', 'mp4', 'm4a', '3gp', '3g2', 'mj2', 'matroska', 'webm', 'avi', 'flv', 'live_flv', 'mpegts', 'mpeg', 'mpegvideo',
  'ogg', 'asf', 'wtv', 'h264', 'hevc', 'm4v', 'ivf', 'obu', 'av1', 'vc1', 'dv', 'nut', 'mxf', 'rm', 'gif', 'yuv4mpegpipe',
  'wav', 'mp3', 'aac', 'flac',
] as const;

/**
 * Input options for every ffmpeg/ffprobe that reads a video: only local files and pipes (never the
 * network or other schemes), and only the demuxers above.
 */
export const INPUT_PROTOCOL_ARGS = ['-protocol_whitelist', 'file,pipe', '-format_whitelist', SAFE_DEMUXERS.join(',')] as const;

/**
 * The same for a member of an archive: `subfile` (see `inputUrl`) on top of `file`. subfile opens
 * only the inner URL it is given, under the same whitelist, so it adds no way to reach the network
 * or another file; loose files keep the narrower list.
 */
export const MEMBER_INPUT_PROTOCOL_ARGS = ['-protocol_whitelist', 'file,pipe,subfile', '-format_whitelist', SAFE_DEMUXERS.join(',')] as const;

/** The protocol and demuxer whitelists for reading `input` (`INPUT_PROTOCOL_ARGS` or `MEMBER_INPUT_PROTOCOL_ARGS`). */
export function inputProtocolArgs(input: VideoInput): readonly string[] {
  return typeof input === 'string' ? INPUT_PROTOCOL_ARGS : MEMBER_INPUT_PROTOCOL_ARGS;
}
