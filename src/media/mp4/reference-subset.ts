import { h264ReferenceSamples } from '../h264.js';
import type { VideoInput } from '../input.js';
import type { SampleTable } from './sample-table.js';
import { keptSamples, subsetHeader } from './subset.js';

/** An MP4 stream of some samples of a file's video track: read again from the file each time it is called. */
export type SubsetStream = () => AsyncIterable<Buffer>;

/**
 * An H.264 MP4 as a stream without the non-reference frames that are not `wanted` (frame indices,
 * presentation order). A non-reference frame is no other frame's reference, so every frame left
 * decodes bit-identically, and keeps its time in the original file. Undefined when the file does
 * not allow it (no sample table, not H.264, a sample without readable slices or with slices that
 * disagree, times beyond 32 bits) or when more than `maxKept` of the samples would stay (then
 * reading the file a second time costs more than the decoding it saves). `input`: the video the
 * table was read from, a file or a member of an archive.
 */
export async function referenceSubset(input: VideoInput, table: SampleTable | undefined, wanted: Iterable<number>, maxKept: number): Promise<SubsetStream | undefined> {
  if (table === undefined || table.nalLengthSize === undefined) return undefined;
  const count = table.frameTimes.length;
  if (table.decodeUnits[count - 1]! + table.lastSampleUnits > 0xffffffff) return undefined;
  const refs = await h264ReferenceSamples(input, table);
  if (refs === undefined) return undefined;
  const keep = Uint8Array.from(refs);
  for (const f of wanted) keep[table.sampleOfFrame[f]!] = 1;
  const kept: number[] = [];
  for (let s = 0; s < count; s++) if (keep[s] === 1) kept.push(s);
  if (kept.length > maxKept * count) return undefined;
  const samples = Uint32Array.from(kept);
  const header = subsetHeader(table, samples);
  return async function* () {
    yield header;
    yield* keptSamples(input, table, samples);
  };
}
