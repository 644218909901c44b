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

/** Protocols ffmpeg may open while reading our input: never the network or other schemes. */
export const INPUT_PROTOCOL_ARGS = ['-protocol_whitelist', 'file,pipe'] as const;
