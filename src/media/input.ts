import { stat } from 'node:fs/promises';
import path from 'node:path';
import { VdedupError } from '../errors.js';

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
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new VdedupError('FILE_NOT_FOUND', 'no such file', { file, cause: err });
    }
    throw new VdedupError('NOT_A_FILE', `cannot read: ${(err as Error).message}`, { file, cause: err });
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
 * ffmpeg input URL for a local path. The `file:` prefix stops ffmpeg from reading a name as an
 * option (leading '-') or as another protocol (`http:`, `concat:`, `pipe:` ...).
 */
export function fileUrl(absolutePath: string): string {
  return `file:${absolutePath}`;
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
