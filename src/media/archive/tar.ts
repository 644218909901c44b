import { bytes } from './names.js';
import { StreamEnded, type RandomReader, type StreamSource } from './bytes.js';

/**
 * Tar headers: ustar (name prefix), GNU long names and link names (`L`, `K`), pax extended headers
 * (`x`: path, linkpath, size; GNU sparse keys mark a sparse member) and pax global headers (`g`,
 * ignored: they set defaults we do not use), octal and base-256 numbers. The same header logic
 * serves a random-access walk over a tar file (headers only: member data stays in place) and a
 * pass over a stream (gunzipped tar), which hands each member's data on chunk by chunk.
 *
 * This module states what the headers say; what is safe to use (names, types, duplicates) is
 * judged by the caller, the same way for tar and zip.
 */

export const BLOCK = 512;
/** Extended headers (long names, pax records) larger than this are not read: real ones are tiny. */
export const MAX_EXTENDED_HEADER_BYTES = 2 ** 20;

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'sparse' | 'other';

export interface TarEntry {
  /** The name as stored (long name or pax path applied), not yet checked. */
  name: string;
  type: TarEntryType;
  typeflag: string;
  linkName: string;
  /** Bytes of data after the header. */
  size: number;
  headerOffset: number;
  dataOffset: number;
}

/** A step of a walk: an entry, or a problem. A fatal problem ends the walk (nothing after it can be trusted). */
export type TarStep =
  | { kind: 'entry'; entry: TarEntry }
  | { kind: 'problem'; member?: string; message: string; fatal: boolean };

/** A stream step: entries of type 'file' carry their data, which must be read (or dropped) before the next step. */
export type TarStreamStep =
  | { kind: 'entry'; entry: TarEntry; data: AsyncGenerator<Buffer> }
  | { kind: 'problem'; member?: string; message: string; fatal: boolean };

const TYPES: Record<string, TarEntryType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block',
  '5': 'directory', '6': 'fifo', D: 'directory', S: 'sparse',
};

type Header =
  | { kind: 'end' }
  | { kind: 'bad'; message: string }
  | { kind: 'header'; typeflag: string; name: string; linkName: string; size: number };

/** A number field: octal text (space/NUL padded) or GNU base-256 (high bit of the first byte set). */
function numberField(field: Buffer): number | undefined {
  if ((field[0]! & 0x80) !== 0) {
    if ((field[0]! & 0x40) !== 0) return undefined; // negative
    let v = BigInt(field[0]! & 0x3f);
    for (let i = 1; i < field.length; i++) v = (v << 8n) | BigInt(field[i]!);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
  }
  const nul = field.indexOf(0);
  const text = field.subarray(0, nul < 0 ? field.length : nul).toString('latin1').trim();
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined;
}

/** A NUL-terminated text field. */
function textField(field: Buffer): string {
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? field.length : nul).toString('utf8');
}

function decodeHeader(block: Buffer): Header {
  let unsigned = 0;
  let signed = 0;
  let zero = true;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    if (block[i] !== 0) zero = false;
    unsigned += b;
    signed += b >= 128 ? b - 256 : b;
  }
  if (zero) return { kind: 'end' };
  const stored = numberField(block.subarray(148, 156));
  // Old tars summed signed bytes; both are accepted, as GNU tar does.
  if (stored === undefined || (stored !== unsigned && stored !== signed)) return { kind: 'bad', message: 'bad header checksum' };
  const size = numberField(block.subarray(124, 136));
  if (size === undefined) return { kind: 'bad', message: 'unreadable size field' };
  let name = textField(block.subarray(0, 100));
  // POSIX ustar splits long names into prefix/name; GNU's "ustar  " uses that area for times.
  if (block.toString('latin1', 257, 263) === 'ustar\0') {
    const prefix = textField(block.subarray(345, 500));
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  return { kind: 'header', typeflag: String.fromCharCode(block[156]!), name, linkName: textField(block.subarray(157, 257)), size };
}

/** What GNU long-name/link and pax headers say about the entry that follows them. */
class Extensions {
  longName: string | undefined;
  longLink: string | undefined;
  pax = new Map<string, string>();

  /** Takes an extended header's data; a message when it cannot be used. */
  apply(typeflag: string, data: Buffer): string | undefined {
    // GNU long names end with a NUL; one inside the name is kept, for the name check to refuse.
    const gnu = () => data.toString('utf8').replace(/\0+$/, '');
    if (typeflag === 'L') this.longName = gnu();
    else if (typeflag === 'K') this.longLink = gnu();
    else if (typeflag === 'x') return parsePax(data, this.pax);
    return undefined;
  }

  /** The entry a real header describes, extensions applied (then forgotten). */
  entry(h: Extract<Header, { kind: 'header' }>, headerOffset: number): TarEntry | string {
    const pax = this.pax;
    let size = h.size;
    const paxSize = pax.get('size');
    if (paxSize !== undefined) {
      if (!/^\d{1,15}$/.test(paxSize)) return `pax size ${JSON.stringify(paxSize)} unreadable`;
      size = Number(paxSize);
    }
    const sparse = [...pax.keys()].some((k) => k.startsWith('GNU.sparse.'));
    const entry: TarEntry = {
      name: pax.get('path') ?? this.longName ?? h.name,
      type: sparse ? 'sparse' : (TYPES[h.typeflag] ?? 'other'),
      typeflag: h.typeflag,
      linkName: pax.get('linkpath') ?? this.longLink ?? h.linkName,
      size,
      headerOffset,
      dataOffset: headerOffset + BLOCK,
    };
    // V7 tars mark directories by a trailing slash only.
    if (entry.type === 'file' && entry.name.endsWith('/') && size === 0) entry.type = 'directory';
    this.longName = undefined;
    this.longLink = undefined;
    this.pax = new Map();
    return entry;
  }
}

/** pax records: "<length> <key>=<value>\n", the length counting the whole record. */
function parsePax(data: Buffer, into: Map<string, string>): string | undefined {
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break; // padding some writers leave
    const space = data.indexOf(0x20, at);
    const lengthText = space < 0 ? '' : data.toString('latin1', at, space);
    const length = /^\d{1,7}$/.test(lengthText) ? Number(lengthText) : 0;
    if (length <= space - at + 1 || at + length > data.length || data[at + length - 1] !== 0x0a) return 'malformed pax header';
    const record = data.toString('utf8', space + 1, at + length - 1);
    const eq = record.indexOf('=');
    if (eq <= 0) return 'malformed pax header';
    into.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return undefined;
}

/** The file or stream does not start with a tar header: not a tar at all. */
export class NotTar extends Error {}

const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;

/** The entries of a tar file by random access: headers are read, member data never. */
export async function* tarEntriesAt(reader: RandomReader, maxMembers: number): AsyncGenerator<TarStep> {
  const ext = new Extensions();
  let offset = 0;
  let members = 0;
  while (offset < reader.size) {
    const block = await reader.read(offset, BLOCK);
    if (block.length < BLOCK) {
      if (offset === 0) throw new NotTar('not a tar archive (shorter than one header)');
      yield { kind: 'problem', message: `truncated: the archive ends inside a header at byte ${offset}`, fatal: true };
      return;
    }
    const h = decodeHeader(block);
    if (h.kind === 'end') return;
    if (h.kind === 'bad') {
      if (offset === 0) throw new NotTar(`not a tar archive (${h.message} at byte 0)`);
      yield { kind: 'problem', message: `${h.message} at byte ${offset}; listing stops`, fatal: true };
      return;
    }
    const dataOffset = offset + BLOCK;
    if ('LKxg'.includes(h.typeflag)) {
      const failure = await readExtension(h, () => reader.read(dataOffset, h.size), reader.size - dataOffset, ext);
      if (failure !== undefined) {
        yield { kind: 'problem', message: `${failure} at byte ${offset}; listing stops`, fatal: true };
        return;
      }
      offset = dataOffset + padded(h.size);
      continue;
    }
    const entry = ext.entry(h, offset);
    if (typeof entry === 'string') {
      yield { kind: 'problem', member: h.name, message: `${entry}; listing stops`, fatal: true };
      return;
    }
    if (++members > maxMembers) {
      yield { kind: 'problem', message: `more than ${maxMembers} members; listing stops`, fatal: true };
      return;
    }
    if (entry.dataOffset + entry.size > reader.size) {
      yield { kind: 'problem', member: entry.name, message: truncatedMessage(entry, reader.size), fatal: true };
      return;
    }
    yield { kind: 'entry', entry };
    offset = entry.dataOffset + padded(entry.size);
  }
}

function truncatedMessage(entry: TarEntry, archiveBytes: number): string {
  return `truncated: the member's ${bytes(entry.size)} run past the end of the archive (${bytes(archiveBytes)}); listing stops`;
}

/** Reads and applies an extended header; a message when it cannot be used. */
async function readExtension(
  h: Extract<Header, { kind: 'header' }>,
  read: () => Promise<Buffer>,
  available: number,
  ext: Extensions,
): Promise<string | undefined> {
  const what = h.typeflag === 'x' || h.typeflag === 'g' ? 'pax header' : 'GNU long name header';
  if (h.size > MAX_EXTENDED_HEADER_BYTES) return `${what} of ${bytes(h.size)}, more than ${bytes(MAX_EXTENDED_HEADER_BYTES)}`;
  if (h.size > available) return `truncated: the archive ends inside a ${what}`;
  if (h.typeflag === 'g') return undefined;
  return ext.apply(h.typeflag, await read());
}

/**
 * The entries of a tar stream, in one pass. A file entry's data is yielded chunk by chunk; what its
 * consumer leaves unread is skipped when the walk goes on. The stream ending early throws
 * StreamEnded (from the walk or from the data), for the caller to report.
 */
export async function* tarEntriesFrom(source: StreamSource, maxMembers: number): AsyncGenerator<TarStreamStep> {
  const ext = new Extensions();
  let offset = 0;
  let members = 0;
  for (;;) {
    source.member = undefined;
    const block = await source.exact(BLOCK);
    if (block === undefined) {
      if (offset === 0) throw new NotTar('not a tar archive (empty)');
      return; // no end blocks: an end all the same, as for tar(1)
    }
    const h = decodeHeader(block);
    if (h.kind === 'end') return;
    if (h.kind === 'bad') {
      if (offset === 0) throw new NotTar(`not a tar archive (${h.message} at byte 0)`);
      yield { kind: 'problem', message: `${h.message} at byte ${offset}; reading stops`, fatal: true };
      return;
    }
    const dataOffset = offset + BLOCK;
    if ('LKxg'.includes(h.typeflag)) {
      const read = async () => {
        const data = await source.exact(h.size);
        if (data === undefined) throw new StreamEnded('the stream ends before an extended header\'s data');
        return data;
      };
      const failure = await readExtension(h, read, Infinity, ext);
      if (failure !== undefined) {
        yield { kind: 'problem', message: `${failure} at byte ${offset}; reading stops`, fatal: true };
        return;
      }
      await source.skip(padded(h.size) - (h.typeflag === 'g' ? 0 : h.size));
      offset = dataOffset + padded(h.size);
      continue;
    }
    const entry = ext.entry(h, offset);
    if (typeof entry === 'string') {
      yield { kind: 'problem', member: h.name, message: `${entry}; reading stops`, fatal: true };
      return;
    }
    if (++members > maxMembers) {
      yield { kind: 'problem', message: `more than ${maxMembers} members; reading stops`, fatal: true };
      return;
    }
    let consumed = 0;
    const data = (async function* () {
      for await (const piece of source.take(entry.size)) {
        consumed += piece.length;
        yield piece;
      }
    })();
    source.member = entry.name;
    yield { kind: 'entry', entry, data };
    await data.return(undefined); // the consumer may have stopped half way
    await source.skip(padded(entry.size) - consumed);
    offset = entry.dataOffset + padded(entry.size);
  }
}
