import { openVideoBytes, type VideoInput } from './input.js';
import { SAMPLE_BLOCK_BYTES, SampleReader, type SampleTable } from './mp4/sample-table.js';

/**
 * H.264 as MP4 stores it: each sample is NAL units with a length prefix (its size from the avcC
 * box: `SampleTable.nalLengthSize`). Only what frame extraction needs is parsed: whether a sample
 * is a reference picture, so that a decoding pass can leave out the frames nothing refers to.
 */

/**
 * Whether an H.264 sample is a reference picture: the nal_ref_idc of its slices (parameter sets,
 * SEI and delimiters may come first), or undefined when it has no slice or its slices disagree
 * (two fields of which only one is a reference: nothing can be left out safely).
 */
function sliceIsReference(sample: Buffer, lengthSize: number): boolean | undefined {
  let at = 0;
  let reference: boolean | undefined;
  while (at + lengthSize < sample.length) {
    const length = sample.readUIntBE(at, lengthSize);
    const nal = sample[at + lengthSize]!;
    const type = nal & 0x1f;
    if (type === 1 || type === 5) {
      const ref = ((nal >> 5) & 3) !== 0;
      if (reference !== undefined && reference !== ref) return undefined;
      reference = ref;
    }
    at += lengthSize + length;
  }
  return reference;
}

/**
 * For every sample of an H.264 track (decode order): 1 when it is a reference picture, 0 when not;
 * undefined when the track is not H.264 or a sample has no readable slice (then nothing should be
 * left out). `input` is the video the table was read from (a member's offsets count from its start).
 */
export async function h264ReferenceSamples(input: VideoInput, table: SampleTable): Promise<Uint8Array | undefined> {
  const lengthSize = table.nalLengthSize;
  if (lengthSize === undefined || table.codec !== 'h264') return undefined;
  const bytes = await openVideoBytes(input);
  try {
    const reader = new SampleReader(bytes, SAMPLE_BLOCK_BYTES);
    const refs = new Uint8Array(table.sampleSizes.length);
    for (let s = 0; s < refs.length; s++) {
      const ref = sliceIsReference(await reader.read(table.sampleOffsets[s]!, table.sampleSizes[s]!), lengthSize);
      if (ref === undefined) return undefined;
      refs[s] = ref ? 1 : 0;
    }
    return refs;
  } finally {
    await bytes.close();
  }
}
