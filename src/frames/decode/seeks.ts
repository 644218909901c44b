import os from 'node:os';
import { seekBatches, type Target } from '../plan.js';
import type { RgbFrame } from '../ppm.js';
import { keyframeAtOrBefore, keyframeBefore, type FrameTimeline } from '../timeline.js';
import { FrameMismatch, intervalSelect, merged, runDecoder, TimelineMismatch, timeWindows, type RunInput, type RunOptions, type Segment } from './run.js';
import { mapLimit } from '../../util/pool.js';

/** Frames reached by seeking: from the keyframe before each run of them, several runs per process. */

/** A seek segment for `targets` from `seekFrame`: time windows, and anything after the last target. */
function seekSegment<T>(timeline: FrameTimeline, targets: Array<Target<T>>, seekFrame: number | undefined, inputOptions: string[]): Segment<T> {
  const windows = timeWindows(timeline, targets.map((t) => t.frame));
  // Anything after the last target is selected too: a missing target shows as a wrong frame.
  windows.push([windows.at(-1)![1], Infinity]);
  return { seekFrame, expected: targets, select: intervalSelect('t', merged(windows)), inputOptions };
}

/**
 * Seek to each run's keyframe and decode up to its targets. First the runs are shared over
 * `processes` processes, each reading its runs as the inputs of one command (one process start,
 * not one per run; at most `segmentsPerProcess` decoders each: `seekBatches`). A run whose frames
 * are not proven there is retried alone, for the targets not yet handed on: from its keyframe,
 * from the keyframe before (open GOPs: leading pictures need it), then from the start of the file;
 * a failure there is a TimelineMismatch. With `keyframesOnly` (--fast) the decoder skips every
 * other frame on the first tries.
 */
export async function decodeSeeks<T>(
  input: RunInput,
  timeline: FrameTimeline,
  targets: Array<Target<T>>,
  o: Omit<RunOptions, 'threads'> & { processes: number; keyframesOnly: boolean; pixels: number },
  dir: string,
  onFrame: (asks: T[], frame: RgbFrame) => Promise<void>,
): Promise<void> {
  const skip = o.keyframesOnly ? ['-skip_frame', 'nokey'] : [];
  // A failed process stops the others (their frames would be thrown away); the error is thrown
  // once every process has settled, so no frame is still being written when the caller cleans up.
  const stop = new AbortController();
  const signal = o.signal === undefined ? stop.signal : AbortSignal.any([o.signal, stop.signal]);
  let failure: { err: unknown } | undefined;
  const batches = seekBatches(timeline, targets, o.processes, o.pixels);
  const threads = Math.max(1, Math.floor(os.availableParallelism() / Math.min(batches.length, o.processes)));
  await mapLimit(batches, o.processes, async (batch) => {
    try {
      const left: Array<Array<Target<T>>> = [];
      try {
        const segments = batch.map((r) => seekSegment(timeline, r, keyframeAtOrBefore(timeline, r[0]!.frame), skip));
        await runDecoder(input, timeline, { segments, stopAfterExpected: true, errorsRefute: true }, { ...o, signal, threads }, dir, onFrame);
      } catch (err) {
        if (!(err instanceof FrameMismatch)) throw err;
        // The runs not (wholly) handed on, each alone now.
        let delivered = err.delivered;
        for (const r of batch) {
          if (delivered < r.length) left.push(r.slice(delivered));
          delivered = Math.max(0, delivered - r.length);
        }
      }
      for (const r of left) await seekAlone(input, timeline, r, { ...o, signal, threads }, dir, onFrame);
    } catch (err) {
      failure ??= { err };
      stop.abort();
    }
  });
  if (failure !== undefined) throw failure.err;
}

/** One run in a process of its own, from its keyframe, the one before, then the file's start. */
async function seekAlone<T>(input: RunInput, timeline: FrameTimeline, targets: Array<Target<T>>, o: RunOptions & { keyframesOnly: boolean }, dir: string, onFrame: (asks: T[], frame: RgbFrame) => Promise<void>): Promise<void> {
  let left = targets;
  const key = keyframeAtOrBefore(timeline, left[0]!.frame);
  const starts = [key, keyframeBefore(timeline, key), undefined].filter((s, i, all) => i === 0 || s !== all[i - 1]);
  for (const [attempt, seekFrame] of starts.entries()) {
    const segment = seekSegment(timeline, left, seekFrame, o.keyframesOnly && attempt === 0 ? ['-skip_frame', 'nokey'] : []);
    try {
      await runDecoder(input, timeline, { segments: [segment], stopAfterExpected: true, errorsRefute: seekFrame !== undefined }, o, dir, onFrame);
      return;
    } catch (err) {
      if (!(err instanceof FrameMismatch)) throw err;
      left = left.slice(err.delivered);
      if (seekFrame === undefined) throw new TimelineMismatch(err.message);
    }
  }
}

