import type { VideoBytes } from '../input.js';
import { VdedupError } from '../../errors.js';

/**
 * Reading ISO-BMFF (MP4/MOV) boxes: the top-level walk to the moov box, the boxes inside a box,
 * and the header fields the sample table needs. Every size is checked against its parent and
 * every walk is bounded, so a hostile file costs a refusal (`Unsupported`), not memory or time.
 */

/** moov boxes larger than this are not read (far beyond what a long file's sample table needs). */
export const MAX_MOOV_BYTES = 64 * 1024 * 1024;
/** Top-level boxes walked looking for moov: a plain MP4 has a handful (ftyp, free, mdat, moov). */
export const MAX_TOP_LEVEL_BOXES = 1024;
/** Boxes directly inside any one box (a moov's tracks, a sample table's tables). */
export const MAX_CHILD_BOXES = 4096;
/** The top-level walk reads the file in blocks of this size (most files need one or two). */
const WALK_BLOCK_BYTES = 64 * 1024;

/** A file this reader does not state: the message says why (`sampleTableRefusal`). */
class Unsupported extends Error {}

export function need(cond: boolean, why: string): asserts cond {
  if (!cond) throw new Unsupported(why);
}

/** Throws ABORTED once the signal has fired (the caller is to stop, not to fall back to ffprobe). */
export function checkAbort(signal: AbortSignal | undefined, file: string): void {
  if (signal?.aborted === true) {
    throw new VdedupError('ABORTED', 'aborted while reading the MP4 sample table', { file, cause: signal.reason });
  }
}

export interface Box {
  type: string;
  /** Payload, after the header. */
  start: number;
  end: number;
}

/** The boxes directly inside buf[start, end). */
export function children(buf: Buffer, start: number, end: number): Box[] {
  const out: Box[] = [];
  let at = start;
  while (at + 8 <= end) {
    need(out.length < MAX_CHILD_BOXES, `more than ${MAX_CHILD_BOXES} boxes in one box`);
    let size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    let header = 8;
    if (size === 1) {
      need(at + 16 <= end, 'truncated box header');
      size = Number(buf.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) {
      size = end - at;
    }
    need(size >= header && at + size <= end, `box ${type} overruns its parent`);
    out.push({ type, start: at + header, end: at + size });
    at += size;
  }
  return out;
}

export function child(buf: Buffer, parent: Box, type: string): Box | undefined {
  return children(buf, parent.start, parent.end).find((b) => b.type === type);
}

export function required(buf: Buffer, parent: Box, type: string): Box {
  const b = child(buf, parent, type);
  need(b !== undefined, `no ${type} box`);
  return b;
}

/**
 * The top-level moov box of an open video (a file, or a member's range: offsets are the video's
 * own), or why it cannot be read. The walk reads the file in
 * blocks (a file of tiny boxes costs one read per block, not one per box) and gives up after
 * MAX_TOP_LEVEL_BOXES boxes.
 */
export async function readMoov(handle: Pick<VideoBytes, 'read'>, fileSize: number, signal: AbortSignal | undefined, file: string): Promise<Buffer> {
  const block = Buffer.alloc(WALK_BLOCK_BYTES);
  let blockStart = 0;
  let blockLength = 0;
  let at = 0;
  let sawFtyp = false;
  for (let boxes = 0; at + 8 <= fileSize; boxes++) {
    checkAbort(signal, file);
    need(boxes < MAX_TOP_LEVEL_BOXES, `more than ${MAX_TOP_LEVEL_BOXES} top-level boxes`);
    // The box header (8 bytes, 16 with a 64-bit size), from the block when it holds it.
    if (at < blockStart || at + Math.min(16, fileSize - at) > blockStart + blockLength) {
      const { bytesRead } = await handle.read(block, 0, block.length, at);
      blockStart = at;
      blockLength = bytesRead;
      need(bytesRead >= 8, 'short read');
    }
    const p = at - blockStart;
    const available = blockStart + blockLength - at;
    let size = block.readUInt32BE(p);
    const type = block.toString('latin1', p + 4, p + 8);
    let header = 8;
    if (size === 1) {
      need(available >= 16, 'short read');
      size = Number(block.readBigUInt64BE(p + 8));
      header = 16;
    } else if (size === 0) {
      size = fileSize - at;
    }
    need(size >= header, `bad top-level box ${JSON.stringify(type)}`);
    if (at === 0) need(type === 'ftyp', 'not an ISO-BMFF file');
    if (type === 'ftyp') sawFtyp = true;
    // Fragmented files keep their samples in moof boxes, which this reader does not follow.
    need(type !== 'moof', 'fragmented MP4');
    if (type === 'moov') {
      need(sawFtyp, 'moov before ftyp');
      need(size - header <= MAX_MOOV_BYTES, 'moov too large');
      need(at + size <= fileSize, 'moov truncated');
      const moov = Buffer.alloc(size - header);
      const r = await handle.read(moov, 0, moov.length, at + header);
      need(r.bytesRead === moov.length, 'moov truncated');
      checkAbort(signal, file);
      return moov;
    }
    at += size;
  }
  throw new Unsupported('no moov box');
}

export function fullBoxVersion(buf: Buffer, box: Box): number {
  need(box.end - box.start >= 4, 'short full box');
  return buf.readUInt8(box.start);
}

/** Timescale and duration of an mvhd or mdhd box. */
export function timescaleOf(buf: Buffer, box: Box): { timescale: number; duration: number } {
  const v = fullBoxVersion(buf, box);
  const p = box.start + 4 + (v === 1 ? 16 : 8);
  need(p + (v === 1 ? 12 : 8) <= box.end, 'short header box');
  const timescale = buf.readUInt32BE(p);
  const duration = v === 1 ? Number(buf.readBigUInt64BE(p + 4)) : buf.readUInt32BE(p + 4);
  need(timescale > 0, 'zero timescale');
  return { timescale, duration };
}
