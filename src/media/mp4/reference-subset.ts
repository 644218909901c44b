import { h264ReferenceSamples } from '../h264.js';
import { hevcReferenceSamples } from '../hevc.js';
import type { VideoInput } from '../input.js';
import type { SampleTable } from './sample-table.js';
import { keptSamples, subsetHeader } from './subset.js';

/** An MP4 stream of some samples of a file's video track: read again from the file each time it is called. */
export type SubsetStream = () => AsyncIterable<Buffer>;

/**
 * For every sample (decode order) of an H.264 or HEVC track: 1 when another frame may need it, 0
 * when a decode can leave it out; undefined for other codecs, or when the samples do not say.
 */
export function referenceSamples(input: VideoInput, table: SampleTable): Promise<Uint8Array | undefined> {
  if (table.codec === 'h264') return h264ReferenceSamples(input, table);
  if (table.codec === 'hevc') return hevcReferenceSamples(input, table);
  return Promise.resolve(undefined);
}

/**
 * An H.264 or HEVC MP4 as a stream without the non-reference frames that are not `wanted` (frame
 * indices, presentation order). A non-reference frame is no other frame's reference, so every
 * frame left decodes bit-identically, and keeps its time in the original file. Undefined when the
 * file does not allow it (no sample table, another codec, a sample without readable slices or
 * with slices that disagree, for HEVC anything src/media/hevc.ts does not state, times beyond 32
 * bits) or when more than `maxKept` of the samples would stay (then
 * reading the file a second time costs more than the decoding it saves). `input`: the video the
 * table was read from, a file or a member of an archive.
 */
export async function referenceSubset(input: VideoInput, table: SampleTable | undefined, wanted: Iterable<number>, maxKept: number): Promise<SubsetStream | undefined> {
  if (table === undefined || table.nalLengthSize === undefined) return undefined;
  const count = table.frameTimes.length;
  if (table.decodeUnits[count - 1]! + table.lastSampleUnits > 0xffffffff) return undefined;
  const refs = await referenceSamples(input, table);
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
