import type { FileHandle } from 'node:fs/promises';
import { open, rm } from 'node:fs/promises';
import { Readable, pipeline } from 'node:stream';
import { createInflateRaw, crc32 } from 'node:zlib';
import { VdedupError, type ErrorCode } from '../../errors.js';
import { bytes, printableName } from './names.js';
import { openArchive } from './open.js';
import { withDefaults, type ArchiveLimits, type ArchiveMember } from './types.js';

/**
 * Copying one listed member out to a file: stored data by byte range, deflated zip data through
 * zlib. Every limit is checked while the bytes flow, so a member that lies about its size or
 * inflates without end stops at the limit; a failed copy leaves no file behind.
 */

const CHUNK_BYTES = 1024 * 1024;

/** Bytes [offset, offset + length) of a file in chunks; TRUNCATED_MEDIA if the file ends first. */
export async function* rangeChunks(handle: FileHandle, offset: number, length: number): AsyncGenerator<Buffer> {
  let at = offset;
  const end = offset + length;
  while (at < end) {
    const buf = Buffer.alloc(Math.min(CHUNK_BYTES, end - at));
    const { bytesRead } = await handle.read(buf, 0, buf.length, at);
    if (bytesRead === 0) throw new VdedupError('TRUNCATED_MEDIA', `the archive ends at byte ${at}, inside the member`);
    at += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

/** Writes a whole buffer (FileHandle.write may write part of it). */
export async function writeAll(out: FileHandle, chunk: Buffer): Promise<void> {
  for (let done = 0; done < chunk.length; ) done += (await out.write(chunk, done, chunk.length - done)).bytesWritten;
}

/** A zlib failure as the archive's fault: truncated or unreadable deflate data. */
export function zlibFailure(err: unknown): { code: ErrorCode; message: string } | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !code.startsWith('Z_')) return undefined;
  const message = (err as Error).message;
  return code === 'Z_BUF_ERROR' ? { code: 'TRUNCATED_MEDIA', message: `truncated compressed data (${message})` } : { code: 'INVALID_MEDIA', message: `unreadable compressed data (${message})` };
}

/**
 * Extracts a member listed by listArchive to destFile, which must not exist yet (it is created
 * private to this user). Throws a VdedupError naming the member (file: the archive) when the member
 * cannot be copied whole within the limits.
 */
export async function extractMember(archive: string, member: ArchiveMember, destFile: string, limits?: Partial<ArchiveLimits>): Promise<void> {
  const lim = withDefaults(limits);
  const fail = (code: ErrorCode, message: string, cause?: unknown) =>
    new VdedupError(code, `${printableName(member.name)}: ${message}`, { file: archive, cause });
  if (member.size > lim.maxMemberBytes) throw fail('INVALID_MEDIA', `member of ${bytes(member.size)}, more than the limit of ${bytes(lim.maxMemberBytes)}`);
  if (member.offset === undefined && member.deflated === undefined) throw fail('INVALID_ARGUMENT', 'neither stored in place nor deflated: nothing to extract');
  const { handle } = await openArchive(archive);
  let out: FileHandle | undefined;
  try {
    try {
      out = await open(destFile, 'wx', 0o600);
    } catch (err) {
      throw fail('INVALID_ARGUMENT', `cannot create ${destFile}: ${(err as Error).message}`, err);
    }
    const deflated = member.deflated;
    let chunks: AsyncIterable<Buffer>;
    if (deflated === undefined) {
      chunks = rangeChunks(handle, member.offset!, member.size);
    } else {
      // pipeline destroys both streams when either fails; the error reaches the loop below.
      chunks = pipeline(Readable.from(rangeChunks(handle, deflated.offset, deflated.compressedSize)), createInflateRaw(), () => {});
    }
    let total = 0;
    let crc = 0;
    for await (const chunk of chunks) {
      total += chunk.length;
      if (total > member.size) throw fail('INVALID_MEDIA', `holds more than its declared ${bytes(member.size)}`);
      if (deflated !== undefined && total > lim.ratioFloorBytes && total > lim.maxRatio * deflated.compressedSize) {
        throw fail('INVALID_MEDIA', `inflates to more than ${lim.maxRatio} times its compressed ${bytes(deflated.compressedSize)}`);
      }
      if (deflated !== undefined) crc = crc32(chunk, crc);
      await writeAll(out, chunk);
    }
    if (total !== member.size) throw fail('TRUNCATED_MEDIA', `holds ${bytes(total)}, ${bytes(member.size)} declared`);
    if (deflated !== undefined && crc !== deflated.crc32) throw fail('INVALID_MEDIA', 'CRC-32 mismatch: the data is damaged');
    await out.close();
    out = undefined;
  } catch (err) {
    if (out !== undefined) {
      await out.close();
      await rm(destFile, { force: true });
    }
    if (err instanceof VdedupError && err.message.startsWith(printableName(member.name))) throw err;
    const z = zlibFailure(err);
    if (z !== undefined) throw fail(z.code, z.message, err);
    if (err instanceof VdedupError) throw fail(err.code, err.message, err);
    throw err;
  } finally {
    await handle.close();
  }
}
