import { openVideoBytes, type VideoInput } from '../input.js';
import { SAMPLE_BLOCK_BYTES, SampleReader, type SampleTable } from './sample-table.js';

/**
 * An MP4 of some of a video track's samples, written as a stream (moov first, so ffmpeg reads it
 * from a pipe): the samples keep their decode and presentation times, so every frame that comes
 * out of the decoder carries its time in the original file.
 *
 * What it is for: a decoding pass that needs only some frames still has to decode every frame
 * they reference, but not the H.264 non-reference frames between them (x264's defaults make every
 * other frame one). ffmpeg can only skip all of them or none (`-skip_frame noref`), and the frames
 * asked for are non-reference half the time; leaving out just the others before the decoder
 * decodes the rest bit-identically.
 */

function box(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

function fullBox(type: string, version: number, flags: number, ...parts: Buffer[]): Buffer {
  const vf = Buffer.alloc(4);
  vf.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xffffff), 0);
  return box(type, vf, ...parts);
}

function u32s(values: ArrayLike<number>): Buffer {
  const b = Buffer.alloc(4 * values.length);
  for (let i = 0; i < values.length; i++) b.writeUInt32BE(values[i]!, 4 * i);
  return b;
}

/** (count, value) runs of a per-sample series, as a stts or ctts table body. */
function runTable(values: number[], signed: boolean): Buffer {
  const runs: Array<[number, number]> = [];
  for (const v of values) {
    const last = runs.at(-1);
    if (last !== undefined && last[1] === v) last[0]++;
    else runs.push([1, v]);
  }
  const b = Buffer.alloc(4 + 8 * runs.length);
  b.writeUInt32BE(runs.length, 0);
  runs.forEach(([n, v], i) => {
    b.writeUInt32BE(n, 4 + 8 * i);
    if (signed) b.writeInt32BE(v, 8 + 8 * i);
    else b.writeUInt32BE(v, 8 + 8 * i);
  });
  return b;
}

/**
 * ftyp, moov and the mdat header of an MP4 holding the `kept` samples (decode-order numbers,
 * ascending) of the table's track, one chunk; the sample data follows (`keptSamples`).
 */
export function subsetHeader(table: SampleTable, kept: Uint32Array): Buffer {
  const n = kept.length;
  // The edit written below shows every kept sample; that is what the reader states only because
  // its table holds just the samples of frames it lists (an edit that cuts frames off the end is
  // followed by leaving their samples out, or the file is refused). A sample outside the table,
  // or out of order, is refused here.
  if (n === 0) throw new Error('an MP4 subset needs at least one sample');
  for (let i = 0; i < n; i++) {
    if (kept[i]! >= table.sampleSizes.length || (i > 0 && kept[i]! <= kept[i - 1]!)) {
      throw new Error(`sample ${kept[i]} is not in the sample table, or not in ascending order`);
    }
  }
  const dts = Array.from(kept, (s) => table.decodeUnits[s]!);
  const deltas = dts.map((t, i) => (i + 1 < n ? dts[i + 1]! - t : table.lastSampleUnits));
  const offsets = Array.from(kept, (s) => table.presentationUnits[s]! - table.decodeUnits[s]!);
  // The media runs for its decode times; the presentation (what the edit shows) to the end of
  // the last frame shown, which B-frame reordering can put after the last decode time.
  const duration = dts[n - 1]! + deltas[n - 1]! - dts[0]!;
  let presentationEnd = 0;
  for (const s of kept) presentationEnd = Math.max(presentationEnd, table.presentationUnits[s]! + table.lastSampleUnits);
  const shown = Math.max(duration, presentationEnd) - table.editStart;
  const sync = [...kept].flatMap((s, i) => (table.syncSamples[s] === 1 ? [i + 1] : []));
  const sizes = Array.from(kept, (s) => table.sampleSizes[s]!);
  const matrix = u32s([0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000]);
  const headerTimes = (d: number) => u32s([0, 0, table.timescale, d]);
  const ftyp = box('ftyp', Buffer.from('isom', 'latin1'), u32s([0x200]), Buffer.from('isomiso2avc1mp41', 'latin1'));
  const mvhd = fullBox('mvhd', 0, 0, headerTimes(shown), u32s([0x10000]), Buffer.from([1, 0]), Buffer.alloc(10), matrix, Buffer.alloc(24), u32s([2]));
  const tkhd = fullBox('tkhd', 0, 3, u32s([0, 0, 1, 0, shown]), Buffer.alloc(8), Buffer.alloc(8), matrix, u32s([table.width << 16, table.height << 16]));
  const elst =
    table.editStart > 0
      ? box('edts', fullBox('elst', 0, 0, u32s([1, shown, table.editStart, 0x10000])))
      : Buffer.alloc(0);
  const stbl = box(
    'stbl',
    table.stsdBox,
    fullBox('stts', 0, 0, runTable(deltas, false)),
    fullBox('ctts', 1, 0, runTable(offsets, true)),
    ...(sync.length === n ? [] : [fullBox('stss', 0, 0, u32s([sync.length, ...sync]))]),
    fullBox('stsz', 0, 0, u32s([0, n, ...sizes])),
    fullBox('stsc', 0, 0, u32s([1, 1, n, 1])),
    // co64, filled in below once the header's length is known.
    fullBox('co64', 0, 0, u32s([1, 0, 0])),
  );
  const minf = box('minf', fullBox('vmhd', 0, 1, Buffer.alloc(8)), box('dinf', fullBox('dref', 0, 0, u32s([1]), fullBox('url ', 0, 1))), stbl);
  const hdlr = fullBox('hdlr', 0, 0, u32s([0]), Buffer.from('vide', 'latin1'), Buffer.alloc(12), Buffer.from('VideoHandler\0', 'latin1'));
  const mdhd = fullBox('mdhd', 0, 0, headerTimes(duration), Buffer.from([0x55, 0xc4, 0, 0]));
  const moov = box('moov', mvhd, box('trak', tkhd, elst, box('mdia', mdhd, hdlr, minf)));
  let total = 0;
  for (const size of sizes) total += size;
  const mdat = Buffer.alloc(16);
  mdat.writeUInt32BE(1, 0);
  mdat.write('mdat', 4, 'latin1');
  mdat.writeBigUInt64BE(BigInt(16 + total), 8);
  const header = Buffer.concat([ftyp, moov, mdat]);
  // The one chunk starts right after the mdat header: co64's last 8 bytes sit at moov's end.
  header.writeBigUInt64BE(BigInt(header.length), ftyp.length + moov.length - 8);
  return header;
}

/** The data of the kept samples, in order, in blocks of about 4 MB, from the video the table was read from. */
export async function* keptSamples(input: VideoInput, table: SampleTable, kept: Uint32Array): AsyncGenerator<Buffer> {
  const bytes = await openVideoBytes(input);
  try {
    const reader = new SampleReader(bytes, SAMPLE_BLOCK_BYTES);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for (const s of kept) {
      const data = Buffer.from(await reader.read(table.sampleOffsets[s]!, table.sampleSizes[s]!));
      pending.push(data);
      pendingBytes += data.length;
      if (pendingBytes >= SAMPLE_BLOCK_BYTES) {
        yield Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
      }
    }
    if (pending.length > 0) yield Buffer.concat(pending);
  } finally {
    await bytes.close();
  }
}
