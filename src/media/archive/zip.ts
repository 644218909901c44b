import type { RandomReader } from './bytes.js';
import { bytes } from './names.js';

/**
 * Zip by random access: the end of central directory record (found past a trailing comment), its
 * zip64 form, the central directory entries (zip64 extra fields applied), and each used entry's
 * local header, for where its data starts. The central directory is the one authority on sizes;
 * a local header only says where the data is, and must agree on the name.
 */

/** The whole archive is not a readable zip: no end record, a central directory that is not there. */
export class ZipUnreadable extends Error {
  constructor(
    message: string,
    readonly truncated = false,
  ) {
    super(message);
  }
}

export type ZipEntryType = 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo' | 'other';

export interface ZipEntry {
  name: string;
  nameBytes: Buffer;
  type: ZipEntryType;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  /** Uncompressed size. */
  size: number;
  /** Where the local header starts (any prefix before the zip already added). */
  localHeaderOffset: number;
}

export type ZipStep = { kind: 'entry'; entry: ZipEntry } | { kind: 'problem'; member?: string; message: string; fatal: boolean };

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CD_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const EOCD_BYTES = 22;
const MAX_COMMENT = 0xffff;
export const ENCRYPTED_FLAGS = 0x0001 | 0x0040; // traditional, strong encryption

/** A little-endian u64 as a number, or undefined past 2^53. */
function u64(buf: Buffer, at: number): number | undefined {
  const v = buf.readBigUInt64LE(at);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

interface Directory {
  entries: number;
  offset: number;
  size: number;
  /** Bytes before the zip (a self-extractor stub, a zip appended to another file). */
  shift: number;
}

/** Finds the end record: the last one whose comment ends at the end of the file, else the last one found. */
async function findDirectory(reader: RandomReader): Promise<Directory> {
  const tailStart = Math.max(0, reader.size - EOCD_BYTES - MAX_COMMENT);
  const tail = await reader.read(tailStart, reader.size - tailStart);
  let found = -1;
  for (let i = tail.length - EOCD_BYTES; i >= 0; i--) {
    if (tail.readUInt32LE(i) !== EOCD_SIG) continue;
    const end = i + EOCD_BYTES + tail.readUInt16LE(i + 20);
    if (end === tail.length) {
      found = i;
      break;
    }
    // A comment may itself hold the signature: one that ends exactly at the file's end wins.
    if (end <= tail.length && found < 0) found = i;
  }
  if (found < 0) throw new ZipUnreadable('not a zip archive (no end of central directory record)');
  const eocdAt = tailStart + found;
  const eocd = tail.subarray(found, found + EOCD_BYTES);
  if (eocd.readUInt16LE(4) !== 0 || eocd.readUInt16LE(6) !== 0) throw new ZipUnreadable('multi-disk zip archives are not supported');
  let entries = eocd.readUInt16LE(10);
  let size = eocd.readUInt32LE(12);
  let offset = eocd.readUInt32LE(16);
  let recordAt = eocdAt;
  // A zip64 locator just before the end record makes the zip64 record authoritative (the 32-bit
  // fields then hold all ones, or copies); its record then sits between directory and end record.
  const locator = eocdAt >= 20 ? await reader.read(eocdAt - 20, 20) : Buffer.alloc(0);
  if (locator.length === 20 && locator.readUInt32LE(0) === ZIP64_LOCATOR_SIG) {
    const at = u64(locator, 8);
    const rec = at === undefined ? Buffer.alloc(0) : await reader.read(at, 56);
    if (rec.length < 56 || rec.readUInt32LE(0) !== ZIP64_EOCD_SIG) throw new ZipUnreadable('zip64 end of central directory record missing');
    const [e, s, o] = [u64(rec, 32), u64(rec, 40), u64(rec, 48)];
    if (e === undefined || s === undefined || o === undefined) throw new ZipUnreadable('zip64 end of central directory record unreadable');
    [entries, size, offset, recordAt] = [e, s, o, at!];
  }
  // The directory ends where the end record (or zip64 record) starts, unless bytes precede the zip.
  const shift = recordAt - size - offset;
  if (shift < 0 || offset + shift + size > reader.size) {
    throw new ZipUnreadable(`truncated: the central directory (${bytes(size)} at byte ${offset}) lies past the end of the file`, true);
  }
  return { entries, offset: offset + shift, size, shift };
}

function decodeName(raw: Buffer, flags: number): string {
  if ((flags & 0x0800) !== 0) return raw.toString('utf8');
  // Without the UTF-8 flag the name is CP437 in theory; in practice tools write UTF-8 anyway.
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return raw.toString('latin1');
  }
}

function entryType(name: string, madeBy: number, external: number): ZipEntryType {
  const host = madeBy >> 8;
  if (host === 3 || host === 19) {
    // Unix and macOS keep st_mode in the high half of the external attributes.
    switch ((external >>> 16) & 0o170000) {
      case 0o120000: return 'symlink';
      case 0o020000: return 'char';
      case 0o060000: return 'block';
      case 0o010000: return 'fifo';
      case 0o140000: return 'other';
      case 0o040000: return 'directory';
    }
  }
  if (name.endsWith('/') || (external & 0x10) !== 0) return 'directory';
  return 'file';
}

/** Zip64 extra field (0x0001): 64-bit values for the fields the entry left at all ones, in order. */
function applyZip64(extra: Buffer, sizes: { size: number; compressedSize: number; localHeaderOffset: number }): string | undefined {
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(at);
    const len = extra.readUInt16LE(at + 2);
    const body = extra.subarray(at + 4, at + 4 + len);
    at += 4 + len;
    if (id !== 0x0001) continue;
    let p = 0;
    for (const field of ['size', 'compressedSize', 'localHeaderOffset'] as const) {
      if (sizes[field] !== 0xffffffff) continue;
      if (p + 8 > body.length) return 'zip64 extra field too short';
      const v = u64(body, p);
      if (v === undefined) return `zip64 ${field} beyond 2^53`;
      sizes[field] = v;
      p += 8;
    }
  }
  return undefined;
}

/** The central directory's entries in order. Throws ZipUnreadable when the archive cannot be listed at all. */
export async function* zipEntries(reader: RandomReader, maxMembers: number): AsyncGenerator<ZipStep> {
  const dir = await findDirectory(reader);
  if (dir.entries > maxMembers) {
    yield { kind: 'problem', message: `${dir.entries} entries, more than ${maxMembers}; only the first ${maxMembers} are read`, fatal: false };
  }
  const end = dir.offset + dir.size;
  let at = dir.offset;
  for (let i = 0; i < Math.min(dir.entries, maxMembers); i++) {
    const head = await reader.read(at, 46);
    if (head.length < 46 || at + 46 > end || head.readUInt32LE(0) !== CD_SIG) {
      if (i === 0) throw new ZipUnreadable(`no central directory at byte ${at}`);
      yield { kind: 'problem', message: `bad central directory entry at byte ${at}; listing stops`, fatal: true };
      return;
    }
    const [nameLen, extraLen, commentLen] = [head.readUInt16LE(28), head.readUInt16LE(30), head.readUInt16LE(32)];
    const varBytes = await reader.read(at + 46, nameLen + extraLen);
    if (varBytes.length < nameLen + extraLen || at + 46 + nameLen + extraLen + commentLen > end) {
      yield { kind: 'problem', message: `central directory entry at byte ${at} runs past the directory's end; listing stops`, fatal: true };
      return;
    }
    at += 46 + nameLen + extraLen + commentLen;
    const flags = head.readUInt16LE(8);
    const nameBytes = Buffer.from(varBytes.subarray(0, nameLen));
    const name = decodeName(nameBytes, flags);
    const sizes = { compressedSize: head.readUInt32LE(20), size: head.readUInt32LE(24), localHeaderOffset: head.readUInt32LE(42) };
    const bad64 = applyZip64(varBytes.subarray(nameLen), sizes);
    if (bad64 !== undefined) {
      yield { kind: 'problem', member: name, message: bad64, fatal: false };
      continue;
    }
    yield {
      kind: 'entry',
      entry: {
        name,
        nameBytes,
        type: entryType(name, head.readUInt16LE(4), head.readUInt32LE(38)),
        flags,
        method: head.readUInt16LE(10),
        crc32: head.readUInt32LE(16),
        compressedSize: sizes.compressedSize,
        size: sizes.size,
        localHeaderOffset: sizes.localHeaderOffset + dir.shift,
      },
    };
  }
}

/** Where an entry's data starts, from its local header; a message when the header is not usable. */
export async function zipDataOffset(reader: RandomReader, entry: ZipEntry): Promise<number | string> {
  const at = entry.localHeaderOffset;
  const head = await reader.read(at, 30);
  if (head.length < 30) return `local header at byte ${at} lies past the end of the archive`;
  if (head.readUInt32LE(0) !== LOCAL_SIG) return `no local header at byte ${at}`;
  const nameLen = head.readUInt16LE(26);
  const name = await reader.read(at + 30, nameLen);
  if (!name.equals(entry.nameBytes)) return "the local header's name differs from the central directory's";
  const dataOffset = at + 30 + nameLen + head.readUInt16LE(28);
  if (dataOffset + entry.compressedSize > reader.size) {
    return `truncated: the member's ${bytes(entry.compressedSize)} at byte ${dataOffset} run past the end of the archive (${bytes(reader.size)})`;
  }
  return dataOffset;
}
