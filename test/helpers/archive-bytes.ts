import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * Hand-built tar and zip bytes, for archives no well-behaved tool writes: unsafe names, links and
 * devices, lying sizes, overlapping zip entries. Every header has a correct checksum unless asked
 * otherwise, so a refusal is about what the test means.
 */

export interface TarHeaderSpec {
  name: string;
  size?: number;
  /** Typeflag: '0' file (default), '1' hard link, '2' symlink, '3' char, '4' block, '5' dir, '6' FIFO, 'L', 'x', 'g' ... */
  type?: string;
  linkName?: string;
  /** POSIX ustar (default), GNU ("ustar  ") or v7 (no magic). */
  format?: 'ustar' | 'gnu' | 'v7';
  prefix?: string;
  /** Raw 12-byte size field (e.g. base-256), instead of octal `size`. */
  sizeField?: Buffer;
  badChecksum?: boolean;
}

export function tarHeader(spec: TarHeaderSpec): Buffer {
  const h = Buffer.alloc(512);
  Buffer.from(spec.name, 'utf8').copy(h, 0, 0, 100);
  h.write('0000644\0', 100, 'latin1');
  h.write('0001750\0', 108, 'latin1');
  h.write('0001750\0', 116, 'latin1');
  if (spec.sizeField) spec.sizeField.copy(h, 124, 0, 12);
  else h.write(`${(spec.size ?? 0).toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('14712345670\0', 136, 'latin1');
  h.write(spec.type ?? '0', 156, 'latin1');
  if (spec.linkName !== undefined) Buffer.from(spec.linkName, 'utf8').copy(h, 157, 0, 100);
  const format = spec.format ?? 'ustar';
  if (format === 'ustar') h.write('ustar\x0000', 257, 'latin1');
  if (format === 'gnu') h.write('ustar  \0', 257, 'latin1');
  if (spec.prefix !== undefined) Buffer.from(spec.prefix, 'utf8').copy(h, 345, 0, 155);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  if (spec.badChecksum === true) sum += 1;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

/** A header and its data, padded to whole blocks. */
export function tarMember(spec: TarHeaderSpec, data: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([tarHeader({ size: data.length, ...spec }), data, pad(data.length)]);
}

/** A pax extended header (`x`, or `g` for global) with these records. */
export function paxMember(records: Record<string, string>, type: 'x' | 'g' = 'x'): Buffer {
  const body = Buffer.concat(
    Object.entries(records).map(([k, v]) => {
      const rest = ` ${k}=${v}\n`;
      // The length counts its own digits.
      const n = Buffer.byteLength(rest);
      let len = n + 1;
      while (len !== n + String(len).length) len = n + String(len).length;
      return Buffer.from(`${len}${rest}`, 'utf8');
    }),
  );
  return tarMember({ name: 'PaxHeaders/x', type }, body);
}

/** A GNU long name (`L`) or long link (`K`) header for the member after it. */
export function gnuLongMember(value: string, type: 'L' | 'K' = 'L'): Buffer {
  return tarMember({ name: '././@LongLink', type, format: 'gnu' }, Buffer.from(`${value}\0`, 'utf8'));
}

/** Two zero blocks: the end of a tar. */
export const TAR_END = Buffer.alloc(1024);

/** GNU base-256 encoding of a number in a 12-byte field. */
export function base256(n: bigint): Buffer {
  const b = Buffer.alloc(12);
  let v = n;
  for (let i = 11; i >= 1; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  b[0] = 0x80;
  return b;
}

export interface ZipEntrySpec {
  name: string;
  /** Data as stored (compressed for method 8). */
  stored: Buffer;
  method?: number;
  /** Declared uncompressed size (default: the data's length for stored, given for deflate). */
  size?: number;
  crc?: number;
  flags?: number;
  /** Unix st_mode for the external attributes (made by Unix). */
  mode?: number;
  /** Name in the local header, when it is to differ from the central directory's. */
  localName?: string;
  /** Put the local header here instead of where the builder would (overlaps). */
  localOffset?: number;
  /** Central directory sizes as 0xffffffff with a zip64 extra field holding the real ones. */
  zip64?: boolean;
  /** Declared compressed size, when it is to differ from the stored data's length. */
  compressedSize?: number;
}

export function localHeader(name: string, method = 0, flags = 0): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4);
  h.writeUInt16LE(flags, 6);
  h.writeUInt16LE(method, 8);
  h.writeUInt16LE(nameBytes.length, 26);
  return Buffer.concat([h, nameBytes]);
}

/**
 * A zip of these entries: each local header and data in turn (unless an entry sets localOffset:
 * then nothing is written for it, its central directory entry points there), then the directory.
 * `prefix` goes before everything (bytes the offsets in the zip do not count, as in a self-extractor).
 */
export function buildZip(entries: ZipEntrySpec[], opts: { prefix?: Buffer; comment?: string } = {}): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  const cd: Buffer[] = [];
  for (const e of entries) {
    const method = e.method ?? 0;
    const size = e.size ?? e.stored.length;
    let offset = e.localOffset;
    if (offset === undefined) {
      offset = at;
      const lh = localHeader(e.localName ?? e.name, method, e.flags ?? 0);
      parts.push(lh, e.stored);
      at += lh.length + e.stored.length;
    }
    const nameBytes = Buffer.from(e.name, 'utf8');
    const compressed = e.compressedSize ?? e.stored.length;
    let extra = Buffer.alloc(0);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(e.mode !== undefined ? (3 << 8) | 20 : 20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(e.flags ?? 0, 8);
    c.writeUInt16LE(method, 10);
    c.writeUInt32LE(e.crc ?? crc32(method === 8 ? inflatedOrEmpty(e.stored) : e.stored), 16);
    if (e.zip64 === true) {
      c.writeUInt32LE(0xffffffff, 20);
      c.writeUInt32LE(0xffffffff, 24);
      c.writeUInt32LE(0xffffffff, 42);
      extra = Buffer.alloc(4 + 24);
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(size), 4);
      extra.writeBigUInt64LE(BigInt(compressed), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
    } else {
      c.writeUInt32LE(compressed, 20);
      c.writeUInt32LE(size, 24);
      c.writeUInt32LE(offset, 42);
    }
    c.writeUInt16LE(nameBytes.length, 28);
    c.writeUInt16LE(extra.length, 30);
    c.writeUInt32LE(e.mode !== undefined ? (e.mode << 16) >>> 0 : 0, 38);
    cd.push(c, nameBytes, extra);
  }
  const cdBytes = Buffer.concat(cd);
  const comment = Buffer.from(opts.comment ?? '', 'utf8');
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cdBytes.length, 12);
  eocd.writeUInt32LE(at, 16);
  eocd.writeUInt16LE(comment.length, 20);
  return Buffer.concat([opts.prefix ?? Buffer.alloc(0), ...parts, cdBytes, eocd, comment]);
}

/** The data a deflate stream holds; nothing for bytes that are no deflate stream (hostile entries). */
function inflatedOrEmpty(data: Buffer): Buffer {
  try {
    return inflateRawSync(data);
  } catch {
    return Buffer.alloc(0);
  }
}

export function deflated(data: Buffer): Buffer {
  return deflateRawSync(data);
}
