import { children } from './boxes.js';

/**
 * What a video sample entry's decoder configuration (avcC for H.264, hvcC for HEVC) says that
 * reading the samples needs: the size of each NAL unit's length prefix, and for HEVC the temporal
 * sub-layers and the parameter sets. Anything unreadable is left undefined (the samples are then
 * not read, and the whole stream is decoded).
 */

export interface HevcConfig {
  /** numTemporalLayers (1 to 7; 0: the file does not say). */
  temporalLayers: number;
  /** The parameter sets of the hvcC arrays (VPS, SPS, PPS, SEI), each a NAL unit, header included. */
  parameterSets: Buffer[];
}

export interface CodecConfig {
  /** Bytes of each NAL unit's length prefix (1, 2 or 4), for H.264 (avcC) and HEVC (hvcC); else undefined. */
  nalLengthSize: number | undefined;
  /** HEVC (hvc1/hev1) with a readable hvcC box; else undefined. */
  hevc: HevcConfig | undefined;
}

/** The configuration box of a visual sample entry (at `entry`, inside a stsd box ending at `end`). */
function configBox(buf: Buffer, entry: number, end: number, type: string): { start: number; end: number } | undefined {
  // A visual sample entry's fixed fields take 86 bytes (from its size field); its boxes follow.
  return children(buf, entry + 86, Math.min(end, entry + buf.readUInt32BE(entry))).find((b) => b.type === type);
}

/** The NAL length prefix size of an avc1/avc3 sample entry (its avcC box). */
function avcConfig(buf: Buffer, entry: number, end: number): CodecConfig {
  const avcC = configBox(buf, entry, end, 'avcC');
  if (avcC === undefined || avcC.end - avcC.start < 5) return { nalLengthSize: undefined, hevc: undefined };
  const n = (buf.readUInt8(avcC.start + 4) & 3) + 1;
  return { nalLengthSize: n === 3 ? undefined : n, hevc: undefined };
}

/**
 * An hvc1/hev1 sample entry's hvcC box (ISO/IEC 14496-15 8.3.3): byte 21 holds
 * constantFrameRate (2 bits), numTemporalLayers (3), temporalIdNested (1) and
 * lengthSizeMinusOne (2); byte 22 the number of parameter set arrays, each a NAL type byte, a
 * count and (length, NAL unit) pairs.
 */
function hevcConfig(buf: Buffer, entry: number, end: number): CodecConfig {
  const none: CodecConfig = { nalLengthSize: undefined, hevc: undefined };
  const hvcC = configBox(buf, entry, end, 'hvcC');
  if (hvcC === undefined || hvcC.end - hvcC.start < 23 || buf[hvcC.start] !== 1) return none;
  const b21 = buf[hvcC.start + 21]!;
  const n = (b21 & 3) + 1;
  if (n === 3) return none;
  const parameterSets: Buffer[] = [];
  let at = hvcC.start + 23;
  for (let a = buf[hvcC.start + 22]!; a > 0; a--) {
    if (at + 3 > hvcC.end) return none;
    let count = buf.readUInt16BE(at + 1);
    at += 3;
    for (; count > 0; count--) {
      if (at + 2 > hvcC.end) return none;
      const length = buf.readUInt16BE(at);
      if (length < 2 || at + 2 + length > hvcC.end) return none;
      parameterSets.push(Buffer.from(buf.subarray(at + 2, at + 2 + length)));
      at += 2 + length;
    }
  }
  return { nalLengthSize: n, hevc: { temporalLayers: (b21 >> 3) & 7, parameterSets } };
}

/** The decoder configuration of the sample entry at `entry` (four-character code `fourcc`). */
export function codecConfig(buf: Buffer, entry: number, end: number, fourcc: string): CodecConfig {
  if (fourcc === 'avc1' || fourcc === 'avc3') return avcConfig(buf, entry, end);
  if (fourcc === 'hvc1' || fourcc === 'hev1') return hevcConfig(buf, entry, end);
  return { nalLengthSize: undefined, hevc: undefined };
}
