import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { VdedupError } from '../../errors.js';
import type { ArchiveKind } from './types.js';

/** The archive kind a file name says: .tar, .tar.gz, .tgz, .zip (any case). */
export function archiveKind(fileName: string): ArchiveKind | undefined {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) return 'tar.gz';
  if (lower.endsWith('.tar')) return 'tar';
  if (lower.endsWith('.zip')) return 'zip';
  return undefined;
}

export function requireKind(archive: string): ArchiveKind {
  const kind = archiveKind(archive);
  if (kind === undefined) throw new VdedupError('INVALID_ARGUMENT', 'not an archive name (.tar, .tar.gz, .tgz, .zip)', { file: archive });
  return kind;
}

/**
 * Opens an archive for reading, with the errors that concern the archive as a whole. The handle is
 * what every later read goes through, so the file checked is the file read.
 */
export async function openArchive(archive: string): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    // Non-blocking, so a FIFO given as an archive fails the check below instead of hanging the open.
    handle = await open(archive, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new VdedupError('FILE_NOT_FOUND', 'no such file', { file: archive, cause: err });
    throw new VdedupError('NOT_A_FILE', `cannot read: ${(err as Error).message}`, { file: archive, cause: err });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new VdedupError('NOT_A_FILE', info.isDirectory() ? 'is a directory, not an archive' : 'not a regular file', { file: archive });
    if (info.size === 0) throw new VdedupError('EMPTY_FILE', 'empty file (0 bytes)', { file: archive });
    return { handle, size: info.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
