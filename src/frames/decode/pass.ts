import type { Target } from '../plan.js';
import type { RgbFrame } from '../ppm.js';
import type { FrameTimeline } from '../timeline.js';
import { FrameMismatch, intervalSelect, merged, runDecoder, TimelineMismatch, timeWindows, type RunInput, type RunOptions, type Segment } from './run.js';
import { h264ReferenceSamples } from '../../media/h264.js';
import type { SampleTable } from '../../media/mp4/sample-table.js';
import { keptSamples, subsetHeader } from '../../media/mp4/subset.js';

/** One decoding pass over the whole video, and the H.264 subset that lets it decode less. */

/**
 * Decode every frame and keep the targets, chosen by their number among the decoded frames; the
 * last frame is kept too, and anything after it, so the count is proven. With `subset` (an H.264
 * MP4 without the non-reference frames no target needs), frames are chosen by time instead.
 */
export async function decodePass<T>(input: RunInput, timeline: FrameTimeline, targets: Array<Target<T>>, o: RunOptions, dir: string, onFrame: (asks: T[], frame: RgbFrame) => Promise<void>): Promise<void> {
  const last = timeline.pts.length - 1;
  const expected: Segment<T>['expected'] = [...targets];
  if (targets.at(-1)?.frame !== last) expected.push({ frame: last, asks: [] });
  const frames = expected.map((e) => e.frame);
  const select =
    input.subset === undefined
      ? intervalSelect('n', merged([...frames.slice(0, -1).map((f): [number, number] => [f, f + 1]), [last, Infinity]]))
      : intervalSelect('t', merged(timeWindows(timeline, frames)));
  try {
    await runDecoder(input, timeline, { segments: [{ seekFrame: undefined, expected, select, inputOptions: [] }], stopAfterExpected: false, errorsRefute: false }, o, dir, onFrame);
  } catch (err) {
    if (err instanceof FrameMismatch) throw new TimelineMismatch(err.message);
    throw err;
  }
}

/**
 * For one decoding pass over an H.264 MP4: the file as an MP4 stream without the non-reference
 * frames that no target is (every other frame with x264's defaults; bench/README.md "Frame
 * extraction"). The frames left keep their times, and a non-reference frame is no other frame's
 * reference, so the targets decode bit-identically; the last frame stays, so the pass still
 * proves where the video ends. Undefined when that would leave out too little to be worth a second
 * read of the file, or the file does not allow it (no sample table, not H.264, a sample without a
 * readable slice, times beyond 32 bits).
 */
export async function referenceSubset(absolutePath: string, table: SampleTable | undefined, frames: number[]): Promise<(() => AsyncIterable<Buffer>) | undefined> {
  if (table === undefined || table.nalLengthSize === undefined) return undefined;
  const count = table.frameTimes.length;
  if (table.decodeUnits[count - 1]! + table.lastSampleUnits > 0xffffffff) return undefined;
  const refs = await h264ReferenceSamples(absolutePath, table);
  if (refs === undefined) return undefined;
  const wanted = new Uint8Array(count);
  for (const f of [...frames, count - 1]) wanted[table.sampleOfFrame[f]!] = 1;
  const kept: number[] = [];
  for (let s = 0; s < count; s++) if (refs[s] === 1 || wanted[s] === 1) kept.push(s);
  if (kept.length > 0.9 * count) return undefined;
  const keep = Uint32Array.from(kept);
  const header = subsetHeader(table, keep);
  return async function* () {
    yield header;
    yield* keptSamples(absolutePath, table, keep);
  };
}
