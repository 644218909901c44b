import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprintVideo } from '../../src/fingerprint/fingerprint.js';
import { hevcReferenceSamples, hevcSample } from '../../src/media/hevc.js';
import { readSampleTable, type SampleTable } from '../../src/media/mp4/sample-table.js';
import { samplingSubset } from '../../src/media/sample.js';
import { ffmpeg, withTempDir } from '../helpers/ffmpeg.js';

/** One NAL unit: the two-byte header (type, layer, temporal id) and a payload. */
function nal(type: number, tid: number, payload: number[], layer = 0): Buffer {
  return Buffer.from([(type << 1) | (layer >> 5), ((layer & 31) << 3) | (tid + 1), ...payload]);
}

/** A slice NAL unit (first_slice_segment_in_pic_flag set for the first of a picture). */
const slice = (type: number, tid: number, first = true) => nal(type, tid, [first ? 0x80 : 0x00, 0x12, 0x34]);

/** A sample: NAL units with 4-byte length prefixes. */
function sample(...nals: Buffer[]): Buffer {
  return Buffer.concat(
    nals.flatMap((n) => {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(n.length);
      return [length, n];
    }),
  );
}

/** An SEI NAL unit with one message of `payloadType`. */
const sei = (payloadType: number) => nal(39, 0, [payloadType, 2, 0xaa, 0xbb, 0x80]);

describe('HEVC samples: which pictures no other picture uses (hevcSample)', () => {
  const TRAIL_N = 0;
  const TRAIL_R = 1;
  const RASL_N = 8;
  const CRA = 21;
  const kind = (s: Buffer, layers = 1) => hevcSample(s, 4, layers);

  it('a sub-layer non-reference picture at the highest sub-layer can be left out; a reference one cannot', () => {
    expect(kind(sample(slice(TRAIL_N, 0)))).toEqual({ reference: false, type: TRAIL_N, noOutputOfPriorPics: false });
    expect(kind(sample(slice(TRAIL_R, 0)))).toMatchObject({ reference: true, type: TRAIL_R });
    expect(kind(sample(slice(RASL_N, 0)))).toMatchObject({ reference: false, type: RASL_N });
    expect(kind(sample(slice(CRA, 0)))).toMatchObject({ reference: true, type: CRA });
    // Two temporal layers: TRAIL_N at layer 0 may be used by layer 1, at layer 1 by nothing.
    expect(kind(sample(slice(TRAIL_N, 0)), 2)).toMatchObject({ reference: true });
    expect(kind(sample(slice(TRAIL_N, 1)), 2)).toMatchObject({ reference: false });
  });

  it('slices that disagree keep the sample; what is not stated refuses the stream', () => {
    // Two slices, one of them a reference: kept.
    expect(kind(sample(slice(TRAIL_N, 0), slice(TRAIL_R, 0, false)))).toEqual({ reference: true, type: undefined, noOutputOfPriorPics: false });
    // Two slices on two sub-layers: kept.
    expect(kind(sample(slice(TRAIL_N, 1), slice(TRAIL_N, 0, false)), 2)).toMatchObject({ reference: true });
    // Two non-reference slices of one picture: droppable.
    expect(kind(sample(slice(TRAIL_N, 0), slice(TRAIL_N, 0, false)))).toMatchObject({ reference: false });
    // An IRAP slice among others, two pictures in one sample, no slice at all.
    expect(kind(sample(slice(CRA, 0), slice(TRAIL_R, 0, false)))).toBeUndefined();
    expect(kind(sample(slice(TRAIL_N, 0), slice(TRAIL_N, 0)))).toBeUndefined();
    expect(kind(sample(nal(35, 0, [0x50])))).toBeUndefined();
    // A temporal id above the stream's, a layer other than the base, a reserved VCL type.
    expect(kind(sample(slice(TRAIL_N, 1)))).toBeUndefined();
    expect(kind(sample(nal(TRAIL_N, 0, [0x80, 1], 1)))).toBeUndefined();
    expect(kind(sample(slice(11, 0)))).toBeUndefined();
    // Unknown number of temporal layers.
    expect(kind(sample(slice(TRAIL_N, 0)), 0)).toBeUndefined();
    // An end of sequence (a CRA after it starts decoding anew).
    expect(kind(sample(slice(TRAIL_N, 0), nal(36, 0, [])))).toBeUndefined();
    // A NAL unit that runs past the sample, a length prefix cut short.
    const whole = sample(slice(TRAIL_N, 0));
    expect(kind(whole.subarray(0, whole.length - 1))).toBeUndefined();
    expect(kind(Buffer.concat([whole, Buffer.from([0, 0])]))).toBeUndefined();
  });

  it('reads IRAP pictures’ no_output_of_prior_pics_flag', () => {
    expect(kind(sample(nal(19, 0, [0xc0, 0])))).toMatchObject({ reference: true, type: 19, noOutputOfPriorPics: true });
    expect(kind(sample(nal(19, 0, [0x80, 0])))).toMatchObject({ noOutputOfPriorPics: false });
  });

  it('delimiters and inert SEI leave a picture droppable; parameter sets and other SEI keep it', () => {
    expect(kind(sample(nal(35, 0, [0x50]), slice(TRAIL_N, 0)))).toMatchObject({ reference: false });
    // User data unregistered (5), decoded picture hash (132 as a suffix SEI).
    expect(kind(sample(sei(5), slice(TRAIL_N, 0)))).toMatchObject({ reference: false });
    expect(kind(sample(slice(TRAIL_N, 0), nal(40, 0, [132, 2, 1, 2, 0x80])))).toMatchObject({ reference: false });
    // Mastering display colour volume (137) persists onto later pictures: kept.
    expect(kind(sample(sei(137), slice(TRAIL_N, 0)))).toMatchObject({ reference: true });
    // An SEI without its trailing bits: kept.
    expect(kind(sample(nal(39, 0, [5, 1, 0xaa]), slice(TRAIL_N, 0)))).toMatchObject({ reference: true });
    // An in-band PPS (id 0, SPS 0, no output flags): kept; one with output_flag_present_flag refuses.
    expect(kind(sample(nal(34, 0, [0b1100_0000, 0x80]), slice(TRAIL_N, 0)))).toMatchObject({ reference: true });
    expect(kind(sample(nal(34, 0, [0b1101_0000, 0x80]), slice(TRAIL_N, 0)))).toBeUndefined();
    // An in-band SPS with the stream's sub-layers: kept; with others: refused.
    expect(kind(sample(nal(33, 0, [0b0000_0011, 0x80]), slice(TRAIL_N, 1)), 2)).toMatchObject({ reference: true });
    expect(kind(sample(nal(33, 0, [0b0000_0001, 0x80]), slice(TRAIL_N, 1)), 2)).toBeUndefined();
  });
});

describe('HEVC streams: which are read (hevcReferenceSamples)', () => {
  /** `samples` written one after another to a file, with the table fields the reader uses. */
  async function stream(dir: string, samples: Buffer[], temporalLayers = 1, parameterSets: Buffer[] = []): Promise<[string, SampleTable]> {
    const file = path.join(dir, `stream-${Math.random().toString(36).slice(2)}.hevc`);
    await writeFile(file, Buffer.concat(samples));
    let at = 0;
    const offsets = samples.map((s) => (at += s.length) - s.length);
    const table = {
      codec: 'hevc',
      nalLengthSize: 4,
      hevc: { temporalLayers, parameterSets },
      sampleOffsets: Float64Array.from(offsets),
      sampleSizes: Uint32Array.from(samples, (s) => s.length),
    } as Partial<SampleTable> as SampleTable;
    return [file, table];
  }
  const picture = (type: number, tid = 0) => sample(slice(type, tid));
  const refs = async (dir: string, samples: Buffer[], layers = 1, sets: Buffer[] = []) => {
    const r = await hevcReferenceSamples(...(await stream(dir, samples, layers, sets)));
    return r === undefined ? undefined : Array.from(r);
  };

  it('reads a stream that starts with an IRAP picture, with RASL pictures only where the decoder shows them', async () => {
    await withTempDir(async (dir) => {
      // IDR, TRAIL_R, TRAIL_N, CRA, its RASL_N (decoded: the CRA is not where decoding started), TRAIL_N.
      expect(await refs(dir, [picture(19), picture(1), picture(0), picture(21), picture(8), picture(0)])).toEqual([1, 1, 0, 1, 0, 0]);
      // A first CRA with no RASL picture is read.
      expect(await refs(dir, [picture(21), picture(6), picture(0)])).toEqual([1, 0, 0]);
      // Two temporal layers: only layer 1's TRAIL_N can go.
      expect(await refs(dir, [picture(19), picture(0, 0), picture(0, 1)], 2)).toEqual([1, 1, 0]);
    });
  });

  it('refuses what could change which frames the decoder outputs', async () => {
    await withTempDir(async (dir) => {
      // The RASL pictures of the first CRA, or of a BLA, are skipped by the decoder.
      expect(await refs(dir, [picture(21), picture(8), picture(1)])).toBeUndefined();
      expect(await refs(dir, [picture(19), picture(1), picture(16), picture(8)])).toBeUndefined();
      // Not starting with an IRAP picture.
      expect(await refs(dir, [picture(1), picture(0)])).toBeUndefined();
      // An IRAP picture that drops the pictures still waiting for output.
      expect(await refs(dir, [picture(19), picture(0), sample(nal(19, 0, [0xc0, 0]))])).toBeUndefined();
      // Temporal layers not stated, or an SPS that says otherwise than hvcC.
      expect(await refs(dir, [picture(19), picture(0)], 0)).toBeUndefined();
      expect(await refs(dir, [picture(19), picture(0)], 1, [nal(33, 0, [0b0000_0011, 0x80])])).toBeUndefined();
      expect(await refs(dir, [picture(19), picture(0)], 2, [nal(33, 0, [0b0000_0011, 0x80])])).toEqual([1, 1]);
      // A PPS with output flags (a picture may not be output).
      expect(await refs(dir, [picture(19), picture(0)], 1, [nal(34, 0, [0b1101_0000, 0x80])])).toBeUndefined();
    });
  });
});

describe('an HEVC MP4/MOV is decoded without the frames sampling never shows', () => {
  it('x265 defaults (hev1 MP4), a B-pyramid (MP4) and hvc1 in MOV, each with audio: the same fingerprint bit for bit at 1 and 4 fps', async () => {
    await withTempDir(async (dir) => {
      const source = ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=30000/1001:duration=32', '-f', 'lavfi', '-i', 'sine=duration=32'];
      const videos: Array<[string, string[]]> = [
        ['default.mp4', []],
        ['pyramid.mp4', ['-x265-params', 'bframes=4:b-pyramid=1']],
        ['hvc1.mov', ['-tag:v', 'hvc1']],
      ];
      for (const [name, args] of videos) {
        const video = path.join(dir, name);
        await ffmpeg([...source, '-c:v', 'libx265', ...args, '-c:a', 'aac', '-shortest', video]);
        const table = (await readSampleTable(video))!;
        expect(table.codec, name).toBe('hevc');
        expect(table.hevc?.temporalLayers, name).toBe(1);
        const refs = (await hevcReferenceSamples(video, table))!;
        // x265's B-frames that nothing references are TRAIL_N: a good share of the stream.
        expect(refs.filter((r) => r === 0).length, name).toBeGreaterThan(refs.length / 5);
        expect(await samplingSubset(video, 1), name).toBeDefined();
        for (const fps of [1, 4]) {
          const fast = await fingerprintVideo(video, { fps });
          const whole = await fingerprintVideo(video, { fps, decodeAll: true });
          expect(fast.frameCount).toBeGreaterThanOrEqual(32 * fps);
          for (const column of ['hashes', 'flips', 'rawHashes', 'centerHashes', 'innerHashes', 'innerQuality', 'quality', 'content'] as const) {
            expect(fast[column], `${name} at ${fps} fps: ${column}`).toEqual(whole[column]);
          }
          expect({ ...fast, file: '' }).toEqual({ ...whole, file: '' });
        }
      }
    });
  }, 240_000);
});
