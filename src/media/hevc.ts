import { openVideoBytes, type VideoInput } from './input.js';
import { SAMPLE_BLOCK_BYTES, SampleReader, type SampleTable } from './mp4/sample-table.js';

/**
 * HEVC (H.265) as MP4 stores it (hvc1/hev1): each sample is NAL units with a length prefix (its
 * size from hvcC: `SampleTable.nalLengthSize`), each NAL unit starting with a two-byte header:
 * forbidden_zero_bit, nal_unit_type (6 bits), nuh_layer_id (6), nuh_temporal_id_plus1 (3). As for
 * H.264 (h264.ts), only what a decode needs to leave frames out is read: which samples no other
 * picture uses.
 *
 * A picture no other picture can use: every slice a sub-layer non-reference type (TRAIL_N,
 * TSA_N, STSA_N, RADL_N, RASL_N, RSV_VCL_N10/12/14) at the highest temporal sub-layer of the
 * stream. A sub-layer non-reference picture is not used by pictures of its own sub-layer, but may
 * be by higher ones; at the highest there are none. (ffmpeg's `-skip_frame noref`,
 * ff_hevc_nal_is_nonref, drops those types at any sub-layer: enough for single-layer streams,
 * which is what encoders write by default, but not what is stated here.) It is also left out of
 * POC derivation (prevTid0Pic excludes sub-layer non-reference pictures), so leaving it out changes
 * no other picture's order count.
 *
 * Decoding-order subtleties, and why they cannot change which frames come out:
 * - RASL pictures: a decoder that starts at a CRA (the first picture, any BLA, a CRA after an end
 *   of sequence) skips the RASL pictures that belong to it: they are never output. The sample
 *   table lists them as frames all the same, so the frames a sampling tick shows, worked out from
 *   the table, would not be the ones the decoder outputs, and a non-reference frame the decoder
 *   does show at a tick could be left out. So a stream with RASL pictures that the decoder would
 *   skip is refused (whole decode), and so is any end of sequence/bitstream NAL unit (after which a
 *   CRA starts decoding anew). Other RASL pictures (after a CRA in the middle of the stream, x265's
 *   open GOPs) are decoded and output like any picture: left out only when non-reference at the
 *   highest sub-layer and shown at no tick, like any other.
 * - Output order: the decoder outputs in picture order count, bumping when more than
 *   sps_max_num_reorder_pics (or the latency limit, or the DPB size) are waiting. Leaving pictures
 *   out only lowers those counts, and a subset of a conforming stream still meets every limit: any
 *   picture kept has at most as many pictures before it in decoding order and after it in output
 *   order as before. So the kept pictures come out in the same order, with the same times.
 * - no_output_of_prior_pics_flag on an IRAP picture drops the pictures still waiting for output;
 *   how many wait depends on the pictures left out, so a stream where any IRAP but the first sets
 *   it is refused. pic_output_flag (a PPS with output_flag_present_flag) can hide a picture: such
 *   streams are refused too.
 * - Parameter sets and SEI in a sample: a sample with anything but slices, access unit delimiters,
 *   filler and SEI messages that change no other picture (buffering period, user data, active
 *   parameter sets, picture hash) is kept. An in-band SPS must state the hvcC's temporal layers.
 * - Only base-layer streams (nuh_layer_id 0) with the first sample an IRAP picture are read.
 */

/** A NAL unit's payload without its emulation prevention bytes (00 00 03 → 00 00). */
function rbsp(bytes: Buffer): Buffer {
  const out = Buffer.alloc(bytes.length);
  let n = 0;
  let zeros = 0;
  for (const b of bytes) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

/** Exp-Golomb and fixed-width reads, most significant bit first; throws past the end. */
class Bits {
  private at = 0;
  constructor(private readonly bytes: Buffer) {}
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++, this.at++) {
      if (this.at >= this.bytes.length * 8) throw new Error('short NAL unit');
      v = v * 2 + ((this.bytes[this.at >> 3]! >> (7 - (this.at & 7))) & 1);
    }
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) if (++zeros > 31) throw new Error('bad exp-Golomb code');
    return 2 ** zeros - 1 + this.u(zeros);
  }
}

/** sps_max_sub_layers_minus1 + 1 of an SPS NAL unit (header included). */
function spsSubLayers(nal: Buffer): number {
  const bits = new Bits(rbsp(nal.subarray(2)));
  bits.u(4); // sps_video_parameter_set_id
  return bits.u(3) + 1;
}

/** output_flag_present_flag of a PPS NAL unit (header included). */
function ppsOutputFlagPresent(nal: Buffer): boolean {
  const bits = new Bits(rbsp(nal.subarray(2)));
  bits.ue(); // pps_pic_parameter_set_id
  bits.ue(); // pps_seq_parameter_set_id
  bits.u(1); // dependent_slice_segments_enabled_flag
  return bits.u(1) === 1;
}

/** SEI payload types that change nothing in any other picture: buffering period, user data unregistered, active parameter sets, decoded picture hash. */
const INERT_SEI = new Set([0, 5, 129, 132]);

/** Whether every message of an SEI NAL unit is of a type in INERT_SEI (false on any doubt). */
function seiIsInert(nal: Buffer): boolean {
  const r = rbsp(nal.subarray(2));
  let at = 0;
  const varint = (): number => {
    let v = 0;
    while (r[at] === 0xff) {
      v += 255;
      at++;
    }
    return at < r.length ? v + r[at++]! : -1;
  };
  while (at < r.length) {
    if (at === r.length - 1 && r[at] === 0x80) return true; // rbsp_trailing_bits
    const type = varint();
    const size = varint();
    if (type < 0 || size < 0 || !INERT_SEI.has(type)) return false;
    at += size;
  }
  return false;
}

const VPS = 32;
const SPS = 33;
const PPS = 34;
const AUD = 35;
const EOS = 36;
const EOB = 37;
const FILLER = 38;
const SEI_PREFIX = 39;
const SEI_SUFFIX = 40;

/** nal_unit_type of the sub-layer non-reference VCL types (ff_hevc_nal_is_nonref's list). */
const SUB_LAYER_NON_REFERENCE = new Set([0, 2, 4, 6, 8, 10, 12, 14]);
const isIrap = (type: number) => type >= 16 && type <= 21;
const isRasl = (type: number) => type === 8 || type === 9;

/** What one sample says about its picture. */
export interface HevcSample {
  /** Whether another picture may use it (false: a decode may leave it out). */
  reference: boolean;
  /** nal_unit_type of its slices when they all share one; undefined when they differ. */
  type: number | undefined;
  /** An IRAP picture's no_output_of_prior_pics_flag (false for other pictures). */
  noOutputOfPriorPics: boolean;
}

/**
 * One HEVC sample (length-prefixed NAL units of `lengthSize` bytes) of a stream with
 * `temporalLayers` sub-layers. Undefined when it cannot be stated (a NAL unit that runs past the
 * sample, a forbidden bit, a layer other than the base, a reserved VCL type, no slice, a second
 * picture, a temporal id above the stream's, an end of sequence, an SPS with other sub-layers or a
 * PPS with output flags): then nothing in the stream should be left out. Slices that disagree on
 * their type or sub-layer keep the sample.
 */
export function hevcSample(sample: Buffer, lengthSize: number, temporalLayers: number): HevcSample | undefined {
  if (temporalLayers < 1 || temporalLayers > 7) return undefined;
  const highest = temporalLayers - 1;
  let at = 0;
  let slices = 0;
  let type: number | undefined;
  let tid: number | undefined;
  let agree = true;
  let inert = true;
  let noOutputOfPriorPics = false;
  try {
    while (at < sample.length) {
      if (at + lengthSize + 2 > sample.length) return undefined;
      const length = sample.readUIntBE(at, lengthSize);
      const start = at + lengthSize;
      at = start + length;
      if (length < 2 || at > sample.length) return undefined;
      const nal = sample.subarray(start, at);
      const nalType = (nal[0]! >> 1) & 0x3f;
      const layer = ((nal[0]! & 1) << 5) | (nal[1]! >> 3);
      const temporalId = (nal[1]! & 7) - 1;
      if ((nal[0]! & 0x80) !== 0 || layer !== 0 || temporalId < 0 || temporalId > highest) return undefined;
      if (nalType < 32) {
        if ((nalType > 9 && nalType < 16) || nalType > 21 || length < 3) return undefined;
        const firstSliceInPicture = (nal[2]! & 0x80) !== 0;
        if (firstSliceInPicture !== (slices === 0)) return undefined;
        if (slices === 0) {
          type = nalType;
          tid = temporalId;
          noOutputOfPriorPics = isIrap(nalType) && (nal[2]! & 0x40) !== 0;
        } else if (nalType !== type || temporalId !== tid) {
          // The slices of a picture share one type: an IRAP or RASL slice among others is not a
          // stream this reader states; other disagreements keep the sample.
          if (isIrap(nalType) || isIrap(type!) || isRasl(nalType) || isRasl(type!)) return undefined;
          agree = false;
        }
        slices++;
      } else if (nalType === EOS || nalType === EOB) {
        return undefined;
      } else if (nalType === SPS) {
        if (spsSubLayers(nal) !== temporalLayers) return undefined;
        inert = false;
      } else if (nalType === PPS) {
        if (ppsOutputFlagPresent(nal)) return undefined;
        inert = false;
      } else if (nalType === SEI_PREFIX || nalType === SEI_SUFFIX) {
        if (!seiIsInert(nal)) inert = false;
      } else if (nalType !== AUD && nalType !== FILLER) {
        inert = false; // VPS, reserved and unspecified types
      }
    }
  } catch {
    return undefined;
  }
  if (slices === 0) return undefined;
  const droppable = agree && inert && SUB_LAYER_NON_REFERENCE.has(type!) && tid === highest;
  return { reference: !droppable, type: agree ? type : undefined, noOutputOfPriorPics };
}

/**
 * Whether the hvcC parameter sets allow reading the samples: every SPS with the hvcC's number of
 * temporal layers (the decoder's highest sub-layer is the SPS's), no PPS with output flags.
 */
function parameterSetsAgree(sets: Buffer[], temporalLayers: number): boolean {
  try {
    for (const nal of sets) {
      const type = (nal[0]! >> 1) & 0x3f;
      if (type === SPS && spsSubLayers(nal) !== temporalLayers) return false;
      if (type === PPS && ppsOutputFlagPresent(nal)) return false;
      if (type !== VPS && type !== SPS && type !== PPS && type !== SEI_PREFIX && type !== SEI_SUFFIX) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * For every sample of an HEVC track (decode order): 1 when another picture may use it, 0 when a
 * decode can leave it out; undefined when the track is not HEVC, its hvcC does not say how many
 * temporal layers it has, or anything in the stream is not stated (see above): then nothing
 * should be left out. `input` is the video the table was read from.
 */
export async function hevcReferenceSamples(input: VideoInput, table: SampleTable): Promise<Uint8Array | undefined> {
  const lengthSize = table.nalLengthSize;
  const config = table.hevc;
  if (table.codec !== 'hevc' || lengthSize === undefined || config === undefined || config.temporalLayers === 0) return undefined;
  if (!parameterSetsAgree(config.parameterSets, config.temporalLayers)) return undefined;
  const bytes = await openVideoBytes(input);
  try {
    const reader = new SampleReader(bytes, SAMPLE_BLOCK_BYTES);
    const refs = new Uint8Array(table.sampleSizes.length);
    // Whether the last IRAP picture starts decoding anew (the first sample, a BLA): its RASL
    // pictures are skipped by the decoder.
    let raslSkipped = true;
    for (let s = 0; s < refs.length; s++) {
      const info = hevcSample(await reader.read(table.sampleOffsets[s]!, table.sampleSizes[s]!), lengthSize, config.temporalLayers);
      if (info === undefined) return undefined;
      const type = info.type;
      if (s === 0 && (type === undefined || !isIrap(type))) return undefined;
      if (type !== undefined && isIrap(type)) {
        if (s > 0 && info.noOutputOfPriorPics) return undefined;
        raslSkipped = s === 0 || type <= 18;
      }
      if (type !== undefined && isRasl(type) && raslSkipped) return undefined;
      refs[s] = info.reference ? 1 : 0;
    }
    return refs;
  } finally {
    await bytes.close();
  }
}
