import { inputName, openVideoBytes, type VideoBytes, type VideoInput } from '../input.js';
import { codecConfig, type HevcConfig } from './codec-config.js';
import { checkAbort, child, children, fullBoxVersion, need, readMoov, required, timescaleOf, type Box } from './boxes.js';

/**
 * The sample table of an MP4/MOV file's video track, read in-process: what frame extraction needs
 * to plan (frame count, the time of every frame, where the keyframes are) without starting ffprobe
 * and without reading packets to find keyframes.
 *
 * Deliberately narrow: it answers only for files whose timeline it can state exactly as ffmpeg
 * will decode it (the frames `-fps_mode passthrough` passes on, after the edit list), and says
 * `undefined` for everything else (fragmented MP4, empty or several edits, an edit that ends
 * between B-frames, a first frame not at time 0, several sample descriptions, samples in another
 * file, rotation, cover art, huge or damaged boxes), where the caller asks ffprobe as before.
 *
 * The one edit it follows shows the media from `media_time` for `segment_duration`: ffmpeg drops
 * the frames presented before or after that window (a frame that starts inside it and ends after
 * it is shown). The table stated here ends with the last sample shown: when the edit cuts frames
 * off the end, they must be the last samples in decode order (always so without B-frames), so no
 * frame shown needs a sample left out of the table and every table has one sample per frame.
 */
export interface SampleTable {
  /** ffmpeg's stream index of the video track (tracks are numbered in file order). */
  streamIndex: number;
  /** Position among the video tracks. */
  videoOrdinal: number;
  /** The sample entry's four-character code, mapped to ffmpeg's codec name where known. */
  codec: string;
  width: number;
  height: number;
  hasAudio: boolean;
  /** Presentation time of every frame in seconds, ascending; the first is 0. */
  frameTimes: Float64Array;
  /** Presentation times of the sync samples (keyframes), ascending. */
  keyframeTimes: Float64Array;
  /** Seconds: end of the last frame (or of the edit, when the edit ends inside the last frame). */
  duration: number;
  /** Sample number (decode order, from 0) of each frame in presentation order. */
  sampleOfFrame: Uint32Array;
  /**
   * File offset and size of each sample, in decode order: one per frame (samples an edit cuts off
   * the end are left out).
   */
  sampleOffsets: Float64Array;
  sampleSizes: Uint32Array;
  /**
   * H.264 (avc1/avc3) and HEVC (hvc1/hev1): bytes of each NAL unit's length prefix (from avcC or
   * hvcC); else undefined. Which of the two: `codec`.
   */
  nalLengthSize: number | undefined;
  /** HEVC: the hvcC box's temporal layers and parameter sets; else undefined. */
  hevc: HevcConfig | undefined;
  /** The track's timescale, and each sample's decode and presentation time in it (decode order, before the edit). */
  timescale: number;
  decodeUnits: Float64Array;
  presentationUnits: Float64Array;
  /** Duration of the last sample, in timescale units. */
  lastSampleUnits: number;
  /** The edit's start (media time units; 0 without an edit list). */
  editStart: number;
  /** 1 for each sync sample (decode order). */
  syncSamples: Uint8Array;
  /** The stsd box, header included, as in the file (the decoder's configuration). */
  stsdBox: Buffer;
}

/** More samples than this (4.6 days at 50 fps) is not a table worth holding in memory. */
export const MAX_SAMPLES = 20_000_000;

const CODEC_NAMES: Record<string, string> = {
  avc1: 'h264', avc3: 'h264', hvc1: 'hevc', hev1: 'hevc', av01: 'av1', vp09: 'vp9', vp08: 'vp8',
  mp4v: 'mpeg4', mjpa: 'mjpeg', jpeg: 'mjpeg', 'ap4h': 'prores', apch: 'prores', apcn: 'prores', apcs: 'prores', apco: 'prores',
};

/**
 * (count, value) runs of a stts or ctts box, as two arrays (a ctts box has a run per sample or
 * two). The box must hold every run its count announces before anything is allocated.
 */
function runs(buf: Buffer, box: Box, signed: boolean): { counts: Uint32Array; values: Float64Array } {
  need(box.end - box.start >= 8, 'short table');
  const n = buf.readUInt32BE(box.start + 4);
  need(box.start + 8 + n * 8 <= box.end, 'short table');
  const counts = new Uint32Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = box.start + 8 + i * 8;
    counts[i] = buf.readUInt32BE(p);
    values[i] = signed ? buf.readInt32BE(p + 4) : buf.readUInt32BE(p + 4);
  }
  return { counts, values };
}

/**
 * Sample numbers sorted by presentation time. Decode order is presentation order up to the
 * B-frame reordering, a few places: an insertion sort does it in one pass; a file reordered more
 * than that gets a full sort.
 */
function presentationOrder(pts: Float64Array): Uint32Array {
  const order = Uint32Array.from({ length: pts.length }, (_, k) => k);
  let moves = 0;
  for (let i = 1; i < order.length; i++) {
    const s = order[i]!;
    let j = i - 1;
    while (j >= 0 && pts[order[j]!]! > pts[s]!) {
      order[j + 1] = order[j]!;
      j--;
      if (++moves > 64 * pts.length) return order.sort((a, b) => pts[a]! - pts[b]!);
    }
    order[j + 1] = s;
  }
  return order;
}

interface Track {
  handler: string;
  trak: Box;
  mdia: Box;
}

function tracks(buf: Buffer, moov: Box): Track[] {
  return children(buf, moov.start, moov.end)
    .filter((b) => b.type === 'trak')
    .map((trak) => {
      const mdia = required(buf, trak, 'mdia');
      const hdlr = required(buf, mdia, 'hdlr');
      need(hdlr.start + 12 <= hdlr.end, 'short hdlr');
      return { handler: buf.toString('latin1', hdlr.start + 8, hdlr.start + 12), trak, mdia };
    });
}

/** The identity display matrix: anything else is a rotation or flip, left to ffprobe. */
function isIdentityMatrix(buf: Buffer, tkhd: Box): boolean {
  const v = fullBoxVersion(buf, tkhd);
  const m = tkhd.start + 4 + (v === 1 ? 32 : 20) + 16;
  need(m + 36 <= tkhd.end, 'short tkhd');
  const expected = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000];
  return expected.every((e, i) => buf.readInt32BE(m + 4 * i) === e);
}

/** The part of the media an edit list shows, in media timescale units: [start, end). */
interface Edit {
  start: number;
  /** Infinity without an edit list. */
  end: number;
}

/**
 * The one edit of the track (the whole media without an edit list), or unsupported. Its
 * segment_duration is in the movie's timescale (mvhd); ffmpeg converts it to the media's with
 * av_rescale, which rounds to nearest (halves up), and so does this.
 */
function editOf(buf: Buffer, trak: Box, mediaDuration: number, movieTimescale: number, timescale: number): Edit {
  const edts = child(buf, trak, 'edts');
  if (edts === undefined) return { start: 0, end: Infinity };
  const elst = required(buf, edts, 'elst');
  const v = fullBoxVersion(buf, elst);
  need(elst.end - elst.start >= 8, 'short elst');
  const n = buf.readUInt32BE(elst.start + 4);
  const entry = v === 1 ? 20 : 12;
  need(elst.start + 8 + n * entry <= elst.end, 'short elst');
  // One edit that shows the media from media_time at rate 1 (what muxers write to hide the
  // B-frame delay, or to cut the end); empty edits (a delayed start) and several edits change the
  // timeline in ways ffmpeg handles and this reader does not.
  need(n === 1, `${n} edits`);
  const p = elst.start + 8;
  const segment = v === 1 ? buf.readBigUInt64BE(p) : BigInt(buf.readUInt32BE(p));
  const mediaTime = v === 1 ? Number(buf.readBigInt64BE(p + 8)) : buf.readInt32BE(p + 4);
  const rate = buf.readInt32BE(p + (v === 1 ? 16 : 8));
  need(mediaTime >= 0 && mediaTime < Math.max(1, mediaDuration), 'empty or out-of-range edit');
  need(rate === 0x10000, 'edit rate other than 1');
  const length = (segment * BigInt(timescale) + BigInt(movieTimescale) / 2n) / BigInt(movieTimescale);
  need(length > 0n, 'edit of no duration');
  return { start: mediaTime, end: length > 2n ** 52n ? Infinity : mediaTime + Number(length) };
}

/**
 * Every data reference (dref entry) must be flagged self-contained (flag 1): an external one puts
 * the samples in another file, which ffmpeg may open and this reader does not.
 */
function checkDataReferences(buf: Buffer, minf: Box): void {
  const dinf = child(buf, minf, 'dinf');
  const dref = dinf === undefined ? undefined : child(buf, dinf, 'dref');
  if (dref === undefined) return;
  need(dref.end - dref.start >= 8, 'short dref');
  const entries = children(buf, dref.start + 8, dref.end);
  need(entries.length === buf.readUInt32BE(dref.start + 4), 'dref entries miscounted');
  for (const e of entries) {
    need(e.end - e.start >= 4 && (buf.readUInt32BE(e.start) & 1) === 1, `external data reference (${JSON.stringify(e.type)})`);
  }
}

/**
 * File offset and size of every sample (decode order), from the sample sizes (stsz), the
 * sample-to-chunk runs (stsc) and the chunk offsets (stco or co64). The caller has checked that
 * stsz holds `count` sizes.
 */
function sampleLocations(buf: Buffer, stbl: Box, stsz: Box, count: number): { offsets: Float64Array; sizes: Uint32Array } {
  const sizes = new Uint32Array(count);
  const fixed = buf.readUInt32BE(stsz.start + 4);
  if (fixed !== 0) sizes.fill(fixed);
  else {
    need(stsz.start + 12 + count * 4 <= stsz.end, 'short stsz');
    for (let k = 0; k < count; k++) sizes[k] = buf.readUInt32BE(stsz.start + 12 + 4 * k);
  }
  const stco = child(buf, stbl, 'stco');
  const table = stco ?? required(buf, stbl, 'co64');
  const width = stco === undefined ? 8 : 4;
  need(table.end - table.start >= 8, 'short chunk table');
  const chunks = buf.readUInt32BE(table.start + 4);
  need(table.start + 8 + chunks * width <= table.end, 'short chunk table');
  const chunkOffset = (c: number) => (width === 4 ? buf.readUInt32BE(table.start + 8 + c * 4) : Number(buf.readBigUInt64BE(table.start + 8 + c * 8)));
  const stsc = required(buf, stbl, 'stsc');
  need(stsc.end - stsc.start >= 8, 'short stsc');
  const runCount = buf.readUInt32BE(stsc.start + 4);
  need(runCount > 0 && stsc.start + 8 + runCount * 12 <= stsc.end, 'short stsc');
  const offsets = new Float64Array(count);
  let sample = 0;
  for (let r = 0; r < runCount && sample < count; r++) {
    const p = stsc.start + 8 + r * 12;
    const first = buf.readUInt32BE(p) - 1;
    const perChunk = buf.readUInt32BE(p + 4);
    const next = r + 1 < runCount ? buf.readUInt32BE(p + 12) - 1 : chunks;
    need(first >= 0 && next <= chunks && next > first && perChunk > 0, 'bad stsc');
    // The one sample description (several are refused).
    need(buf.readUInt32BE(p + 8) === 1, 'stsc names another sample description');
    for (let c = first; c < next && sample < count; c++) {
      let at = chunkOffset(c);
      for (let k = 0; k < perChunk && sample < count; k++) {
        offsets[sample] = at;
        at += sizes[sample++]!;
      }
    }
  }
  need(sample === count, 'the chunks hold fewer samples than the tables list');
  return { offsets, sizes };
}

/** The sample table of the first video track in a moov box (its payload) of a file of `fileSize` bytes. */
function sampleTableOf(buf: Buffer, fileSize: number): SampleTable {
  const moov: Box = { type: 'moov', start: 0, end: buf.length };
  const top = children(buf, moov.start, moov.end);
  need(!top.some((b) => b.type === 'mvex'), 'fragmented MP4');
  // Cover art becomes an extra ffmpeg stream whose place in the numbering depends on box order.
  need(buf.indexOf('covr', 0, 'latin1') < 0, 'cover art');
  const mvhd = top.find((b) => b.type === 'mvhd');
  need(mvhd !== undefined, 'no mvhd box');
  const movieTimescale = timescaleOf(buf, mvhd).timescale;
  const all = tracks(buf, moov);
  const videoTracks = all.filter((t) => t.handler === 'vide');
  const video = videoTracks[0];
  need(video !== undefined, 'no video track');
  need(isIdentityMatrix(buf, required(buf, video.trak, 'tkhd')), 'rotated or flipped');
  const { timescale, duration: mediaDuration } = timescaleOf(buf, required(buf, video.mdia, 'mdhd'));
  const minf = required(buf, video.mdia, 'minf');
  const stbl = required(buf, minf, 'stbl');

  const stsd = required(buf, stbl, 'stsd');
  need(stsd.end - stsd.start >= 8, 'no sample entry');
  const descriptions = buf.readUInt32BE(stsd.start + 4);
  need(descriptions >= 1, 'no sample entry');
  // Several sample descriptions are several decoder configurations in one track (two encodes
  // joined, say): which samples use which is for ffmpeg to follow, not this reader.
  need(descriptions === 1, `${descriptions} sample descriptions`);
  const entry = stsd.start + 8;
  need(entry + 36 <= stsd.end, 'no sample entry');
  const entrySize = buf.readUInt32BE(entry);
  need(entrySize >= 36 && entry + entrySize <= stsd.end, 'bad sample entry');
  const fourcc = buf.toString('latin1', entry + 4, entry + 8);
  const width = buf.readUInt16BE(entry + 32);
  const height = buf.readUInt16BE(entry + 34);
  need(width > 0 && height > 0, 'no dimensions');
  const { nalLengthSize, hevc } = codecConfig(buf, entry, stsd.end, fourcc);
  checkDataReferences(buf, minf);

  const timeToSample = runs(buf, required(buf, stbl, 'stts'), false);
  let count = 0;
  for (const n of timeToSample.counts) count += n;
  need(count > 0 && count <= MAX_SAMPLES, `${count} samples`);
  // Every sample holds at least one byte of the file (empty samples are refused below), and the
  // size table holds every sample's size: a table claiming more samples than that is refused
  // before anything is allocated per sample.
  need(count <= fileSize, `${count} samples in a file of ${fileSize} bytes`);
  const stsz = required(buf, stbl, 'stsz');
  need(stsz.end - stsz.start >= 12, 'short stsz');
  need(buf.readUInt32BE(stsz.start + 8) === count, 'stts and stsz disagree on the sample count');
  const fixedSize = buf.readUInt32BE(stsz.start + 4);
  if (fixedSize === 0) need(stsz.start + 12 + count * 4 <= stsz.end, 'short stsz');
  else need(count * fixedSize <= fileSize, 'sample data beyond the end of the file');

  const ctts = child(buf, stbl, 'ctts');
  const offsets = ctts === undefined ? undefined : runs(buf, ctts, true);
  const edit = editOf(buf, video.trak, mediaDuration, movieTimescale, timescale);

  // Decode times from stts, plus composition offsets from ctts (decode order, media units).
  const presentationAll = new Float64Array(count);
  const decodeAll = new Float64Array(count);
  let dts = 0;
  let i = 0;
  let lastDelta = 0;
  for (let r = 0; r < timeToSample.counts.length; r++) {
    const n = timeToSample.counts[r]!;
    const delta = timeToSample.values[r]!;
    for (let k = 0; k < n; k++) {
      decodeAll[i] = dts + delta * k;
      presentationAll[i++] = dts + delta * k;
    }
    dts += delta * n;
    lastDelta = delta || lastDelta;
  }
  if (offsets !== undefined) {
    let s = 0;
    for (let r = 0; r < offsets.counts.length && s < count; r++) {
      const off = offsets.values[r]!;
      for (let k = 0; k < offsets.counts[r]! && s < count; k++) presentationAll[s++]! += off;
    }
    need(s === count, 'ctts and stts disagree on the sample count');
  }

  // The frames shown: ffmpeg drops those presented at or after the edit's end. Stated only when
  // they are the last samples in decode order, so the table can end at the last frame shown.
  let shown = 0;
  for (let s = 0; s < count; s++) if (presentationAll[s]! < edit.end) shown++;
  need(shown > 0, 'no frame inside the edit');
  for (let s = 0; s < shown; s++) need(presentationAll[s]! < edit.end, 'the edit ends among frames decoded out of order');
  const cut = shown < count;
  const presentationUnits = cut ? presentationAll.slice(0, shown) : presentationAll;
  const decodeUnits = cut ? decodeAll.slice(0, shown) : decodeAll;
  const lastSampleUnits = cut ? decodeAll[shown]! - decodeAll[shown - 1]! || lastDelta : lastDelta;
  const pts = Float64Array.from(presentationUnits, (u) => (u - edit.start) / timescale);

  const stss = child(buf, stbl, 'stss');
  let keyframeTimes: Float64Array;
  const syncSamples = new Uint8Array(shown);
  if (stss === undefined) {
    keyframeTimes = pts.slice();
    syncSamples.fill(1);
  } else {
    need(stss.end - stss.start >= 8, 'bad stss');
    const n = buf.readUInt32BE(stss.start + 4);
    need(n > 0 && stss.start + 8 + n * 4 <= stss.end, 'bad stss');
    const keys: number[] = [];
    for (let k = 0; k < n; k++) {
      const sample = buf.readUInt32BE(stss.start + 8 + 4 * k);
      need(sample >= 1 && sample <= count, 'stss names a sample that does not exist');
      if (sample > shown) continue;
      syncSamples[sample - 1] = 1;
      keys.push(pts[sample - 1]!);
    }
    need(keys.length > 0, 'no keyframe inside the edit');
    keyframeTimes = Float64Array.from(keys).sort();
  }
  const sampleOfFrame = presentationOrder(presentationUnits);
  const frameTimes = Float64Array.from(sampleOfFrame, (k) => pts[k]!);
  // ffmpeg's timeline starts at the first frame's time; a file that does not start at 0 is left to
  // ffprobe, whose start time the rest of the extraction knows how to use.
  need(Math.abs(frameTimes[0]!) < 1e-9, `first frame at ${frameTimes[0]} s`);
  for (let s = 1; s < shown; s++) need(frameTimes[s]! > frameTimes[s - 1]!, 'two frames at the same time');
  // The end of the last frame (one division: exact to the double, whatever the timescale), or of
  // the edit when it ends inside that frame.
  const lastFrameUnits = presentationUnits[sampleOfFrame[shown - 1]!]!;
  const duration = (Math.min(lastFrameUnits + lastSampleUnits, edit.end) - edit.start) / timescale;
  // A file cut short keeps its moov (written first) but loses samples: refused here, so the
  // extraction meets ffprobe's diagnosis instead of planning frames that are not there. Every
  // sample of the track is checked, the ones an edit cuts off too (ffmpeg reads some of them).
  const { offsets: offsetsAll, sizes: sizesAll } = sampleLocations(buf, stbl, stsz, count);
  let totalBytes = 0;
  for (let k = 0; k < count; k++) {
    need(sizesAll[k]! > 0, 'empty sample');
    totalBytes += sizesAll[k]!;
    need(offsetsAll[k]! + sizesAll[k]! <= fileSize, 'sample data beyond the end of the file');
  }
  need(totalBytes + buf.length <= fileSize, 'sample data beyond the end of the file');
  return {
    streamIndex: all.indexOf(video),
    videoOrdinal: 0,
    codec: CODEC_NAMES[fourcc] ?? fourcc,
    width,
    height,
    hasAudio: all.some((t) => t.handler === 'soun'),
    frameTimes,
    keyframeTimes,
    duration,
    sampleOfFrame,
    sampleOffsets: cut ? offsetsAll.slice(0, shown) : offsetsAll,
    sampleSizes: cut ? sizesAll.slice(0, shown) : sizesAll,
    nalLengthSize,
    hevc,
    timescale,
    decodeUnits,
    presentationUnits,
    lastSampleUnits,
    editStart: edit.start,
    syncSamples,
    stsdBox: Buffer.from(buf.subarray(stsd.start - 8, stsd.end)),
  };
}

/** The sample table of an open video (throws the reason it is not stated, or a read error). */
async function readBytes(bytes: VideoBytes, signal: AbortSignal | undefined, file: string): Promise<SampleTable> {
  const moov = await readMoov(bytes, bytes.size, signal, file);
  return sampleTableOf(moov, bytes.size);
}

/**
 * The video track's sample table, or undefined when the file is not a plain MP4/MOV this reader
 * states exactly (the caller then asks ffprobe). Never throws for a bad file: damaged input is
 * ffprobe's to diagnose, with its precise messages. Throws only when `signal` fires (a
 * VdedupError with code ABORTED, the signal's reason as its cause), checked before and during
 * the walk to the moov box. A member of an archive (`StoredMember`) is read as a file of its own:
 * its sample offsets count from its first byte, and a sample outside its range refuses the table.
 */
export async function readSampleTable(input: VideoInput, signal?: AbortSignal): Promise<SampleTable | undefined> {
  const file = inputName(input);
  checkAbort(signal, file);
  let bytes: VideoBytes | undefined;
  try {
    bytes = await openVideoBytes(input);
    return await readBytes(bytes, signal, file);
  } catch {
    checkAbort(signal, file);
    return undefined;
  } finally {
    await bytes?.close().catch(() => undefined);
  }
}

/**
 * Why a file's sample table is not stated (tests and diagnostics), or undefined when it is.
 * Throws for a file that cannot be opened, and (ABORTED) when `signal` fires.
 */
export async function sampleTableRefusal(input: VideoInput, signal?: AbortSignal): Promise<string | undefined> {
  const file = inputName(input);
  checkAbort(signal, file);
  const bytes = await openVideoBytes(input);
  try {
    await readBytes(bytes, signal, file);
    return undefined;
  } catch (err) {
    checkAbort(signal, file);
    return (err as Error).message;
  } finally {
    await bytes.close();
  }
}

/**
 * Reads samples by their place in the video (a member's: from its first byte, never past its end). With `block` > 0, through one buffer of that size
 * (samples sit in decode order, mostly contiguous: one read serves many); with 0, each sample alone.
 */
export class SampleReader {
  private buffer = Buffer.alloc(0);
  private bufferStart = 0;

  constructor(
    private readonly handle: Pick<VideoBytes, 'read'>,
    private readonly block: number,
  ) {}

  async read(offset: number, size: number): Promise<Buffer> {
    if (offset < this.bufferStart || offset + size > this.bufferStart + this.buffer.length) {
      const length = Math.max(this.block, size);
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await this.handle.read(buffer, 0, length, offset);
      if (bytesRead < size) throw new Error(`sample at ${offset} runs past the end of the file`);
      this.buffer = buffer.subarray(0, bytesRead);
      this.bufferStart = offset;
    }
    return this.buffer.subarray(offset - this.bufferStart, offset - this.bufferStart + size);
  }
}

/** Read block for passes over every sample. */
export const SAMPLE_BLOCK_BYTES = 4 * 1024 * 1024;
