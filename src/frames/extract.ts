import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { decodePass, passSubset } from './decode/pass.js';
import { TimelineMismatch, withScratch, type RunInput } from './decode/run.js';
import { decodeSeeks } from './decode/seeks.js';
import { checkOutputOptions, FrameImages, framesManifest, scaleFilter, writeManifest, type FramesManifest, type OutputOptions } from './output.js';
import { frameTargets, planFrames, strategyFor, type FrameSelection, type PlannedFrame, type Strategy } from './plan.js';
import { type RgbFrame } from './ppm.js';
import { openFrameSource, type FrameSource } from './source.js';
import { decodedTimeline, type FrameTimeline } from './timeline.js';
import { VdedupError } from '../errors.js';

/**
 * Frame extraction, end to end: open the video (`source.ts`), plan the frames and the strategy
 * (`plan.ts`), decode them with ffmpeg (`decode/`), write the images and frames.json
 * (`output.ts`). What other modules use of frame extraction is exported here.
 */

export { checkOutputOptions, type Fit, type FramesManifest, type ImageFormat } from './output.js';
export type { Strategy } from './plan.js';
export { openFrameSource } from './source.js';

export interface ExtractOptions extends OutputOptions {
  selection: FrameSelection;
  outDir: string;
  /** Force the access strategy (default: the cheaper one for this file and selection, `chooseStrategy`). */
  strategy?: Strategy;
  /**
   * Trade exactness for speed (sparse selections only): return the keyframe at or before each
   * frame asked for, decoded alone. `frame` and `timestamp` in the manifest are then the
   * keyframe's own, which can be several seconds before `requested`.
   */
  fast?: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Extract frames (`vdedup frames`, POST /v1/frames): one decode pass for dense selections, seeks
 * for sparse ones, every frame proven against the video's frame list; frames stream from ffmpeg
 * to sharp to disk, so memory does not grow with the video's length. Writes the images and
 * `frames.json` into `outDir`.
 */
export async function extractFrames(video: string, o: ExtractOptions): Promise<FramesManifest> {
  checkOutputOptions(o);
  const format = o.format ?? 'jpg';
  if (o.fast === true && o.selection.mode === 'fps') {
    throw new VdedupError('INVALID_ARGUMENT', '--fast applies to --count, --at and --random (an --fps pass decodes every frame anyway)');
  }
  if (o.fast === true && o.strategy === 'single-pass') throw new VdedupError('INVALID_ARGUMENT', '--fast always seeks');
  const source = await openFrameSource(video, o.signal);
  await mkdir(o.outDir, { recursive: true });
  // A failed extraction, or one that starts again on a decoded frame list, leaves no image behind.
  const images = new FrameImages(o.outDir, o);
  let decoded: Decoded;
  try {
    decoded = await decodeFrames(video, source, (timeline) => planFrames(o.selection, timeline), { ...o, strategy: o.fast === true ? 'seek' : o.strategy }, {
      restart: () => images.removeAll(),
      onFrame: async (planned, frame, total) => {
        const done = await images.write(planned, frame);
        o.onProgress?.(done, total);
      },
    });
  } catch (err) {
    await images.removeAll();
    throw err;
  }
  const manifest = framesManifest(video, { selection: o.selection, fast: o.fast === true, format }, decoded, images.frames());
  await writeManifest(o.outDir, manifest);
  return manifest;
}

export interface DecodeOptions extends OutputOptions {
  /** Forced strategy; default: `chooseStrategy`. */
  strategy?: Strategy | undefined;
  /** Keyframes only (--fast): each planned frame becomes the keyframe at or before it. */
  fast?: boolean;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

export interface Decoded {
  timeline: FrameTimeline;
  plan: PlannedFrame[];
  strategy: Strategy;
}

/** ffmpeg processes seeking at once: one per core, up to 4. */
export const SEEK_PROCESSES = Math.max(1, Math.min(4, os.availableParallelism()));

/**
 * Decode the frames `planFor` plans on the video's frame list and hand each to `onFrame` with its
 * plan entry (with `fast`, the entry names the keyframe returned). When a decode proves the frame
 * list wrong (a packet scan that the decoder contradicts), the list is decoded in full, `restart`
 * is called (frames handed on so far are void) and the frames are planned and decoded again in one
 * pass. Shared by frame extraction and the scan report's evidence strips.
 */
export async function decodeFrames(
  video: string,
  source: FrameSource,
  planFor: (timeline: FrameTimeline) => PlannedFrame[],
  o: DecodeOptions,
  sink: { onFrame: (planned: PlannedFrame, frame: RgbFrame, total: number) => Promise<void>; restart: () => Promise<void> },
): Promise<Decoded> {
  const { probe } = source;
  const input: RunInput = { absolutePath: probe.absolutePath, streamIndex: probe.video.index };
  const runOptions = { file: video, scale: scaleFilter(o), signal: o.signal, timeoutMs: o.timeoutMs };
  const pixels = probe.video.width * probe.video.height;
  return withScratch(async (dir) => {
    let timeline = source.timeline;
    let plan = planFor(timeline);
    const hand = async (asks: PlannedFrame[], frame: RgbFrame) => {
      for (const planned of asks) await sink.onFrame(planned, frame, plan.length);
    };
    const targets = frameTargets(timeline, plan, o.fast === true);
    const strategy = strategyFor(timeline, targets.map((t) => t.frame), pixels, o.strategy);
    try {
      if (strategy === 'seek') {
        await decodeSeeks(input, timeline, targets, { ...runOptions, processes: SEEK_PROCESSES, keyframesOnly: o.fast === true, pixels }, dir, hand);
      } else {
        const threads = os.availableParallelism();
        const subset = await passSubset(probe.absolutePath, source.sampleTable, targets.map((t) => t.frame));
        try {
          await decodePass({ ...input, subset }, timeline, targets, { ...runOptions, threads }, dir, hand);
        } catch (err) {
          if (!(err instanceof TimelineMismatch) || subset === undefined) throw err;
          // The subset is a shortcut: without it, the pass decides.
          await sink.restart();
          await decodePass(input, timeline, targets, { ...runOptions, threads }, dir, hand);
        }
      }
      return { timeline, plan, strategy };
    } catch (err) {
      if (!(err instanceof TimelineMismatch)) throw err;
      if (timeline.source === 'decoded') throw new VdedupError('NO_FRAMES', `the decoder does not give the same frames twice: ${err.message}`, { file: video });
      await sink.restart();
      timeline = await decodedTimeline(probe, o.signal);
      plan = planFor(timeline);
      try {
        await decodePass(input, timeline, frameTargets(timeline, plan, o.fast === true), { ...runOptions, threads: os.availableParallelism() }, dir, hand);
      } catch (again) {
        if (again instanceof TimelineMismatch) throw new VdedupError('NO_FRAMES', `the decoder does not give the same frames twice: ${again.message}`, { file: video });
        throw again;
      }
      return { timeline, plan, strategy: 'single-pass' };
    }
  });
}
