import type { Target } from '../plan.js';
import type { RgbFrame } from '../ppm.js';
import type { FrameTimeline } from '../timeline.js';
import { FrameMismatch, intervalSelect, merged, runDecoder, TimelineMismatch, timeWindows, type RunInput, type RunOptions, type Segment } from './run.js';
import type { SampleTable } from '../../media/mp4/sample-table.js';
import { referenceSubset, type SubsetStream } from '../../media/mp4/reference-subset.js';

/** One decoding pass over the whole video, and the H.264/HEVC subset that lets it decode less. */

/**
 * Decode every frame and keep the targets, chosen by their number among the decoded frames; the
 * last frame is kept too, and anything after it, so the count is proven. With `subset` (an H.264 or HEVC
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
 * For one decoding pass over an H.264 or HEVC MP4: the file as an MP4 stream without the non-reference
 * frames that no target is (every other frame with x264's defaults; bench/README.md "Frame
 * extraction"). The targets decode bit-identically; the last frame stays, so the pass still
 * proves where the video ends. Undefined when that would leave out too little to be worth a second
 * read of the file, or the file does not allow it.
 */
export function passSubset(absolutePath: string, table: SampleTable | undefined, frames: number[]): Promise<SubsetStream | undefined> {
  const last = table === undefined ? [] : [table.frameTimes.length - 1];
  return referenceSubset(absolutePath, table, [...frames, ...last], 0.9);
}
