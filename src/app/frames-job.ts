import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RequestDeps, RunDeps } from './deps.js';
import { RequestRefused } from './errors.js';
import { screenVideo, type ReceivedInputs } from './inputs.js';
import { answerJob, findJob, type JobAnswer } from './job-view.js';
import { discardUploads } from './uploads.js';
import { checkOutputOptions, type Fit, type ImageFormat } from '../frames/extract.js';
import { intOption, selectionFromOptions } from '../frames/plan.js';
import { requireSharedDataDir } from '../config/data-dir.js';
import { framesDir } from '../config/paths.js';
import type { FramesJob, FramesResult } from '../jobs/contract.js';

/**
 * Frame extraction as a job: the request is checked and queued here, a worker extracts the frames
 * into the data dir, and the API serves them from there until the job's retention ends.
 */

/**
 * Queue the extraction of frames from the one video a request carries (a full queue is refused
 * before the upload is read: `receive` reads it), its selection and output checked first (400, not
 * a failed job); answers with the job, or its result when it is done within `waitSeconds`.
 */
export async function requestFrames(deps: RequestDeps, receive: () => Promise<ReceivedInputs>, waitSeconds: number): Promise<JobAnswer> {
  const { producer } = deps;
  await producer.admit('frames');
  const { fields, videos } = await receive();
  let queued = false;
  try {
    if (videos.length !== 1) throw new RequestRefused('invalid', 'INVALID_ARGUMENT', 'give one video: a multipart `file` part, or JSON { "path": ... } under VDEDUP_ROOTS');
    const bad = await screenVideo(videos[0]!);
    if (bad !== undefined) throw bad;
    const given = { fps: fields.fps, count: fields.count, at: fields.timestamps, random: fields.random, seed: fields.seed };
    if ([given.fps, given.count, given.at, given.random].filter((v) => v !== undefined).length !== 1) {
      throw new RequestRefused('invalid', 'INVALID_ARGUMENT', 'give exactly one of fps, count, timestamps, random');
    }
    // Multipart fields are checked one by one: what goes with what is checked here (JSON: by its schema).
    if (given.fps !== undefined && fields.fast === 'true') {
      throw new RequestRefused('invalid', 'INVALID_ARGUMENT', '`fast` applies to count, timestamps and random (an fps pass decodes every frame anyway)');
    }
    const selection = selectionFromOptions(given);
    const output = {
      format: (fields.format ?? 'jpg') as ImageFormat,
      width: intOption('width', fields.width),
      height: intOption('height', fields.height),
      fit: fields.fit as Fit | undefined,
      quality: intOption('quality', fields.quality),
    };
    // Refused here (400), not by the worker after the job was queued.
    checkOutputOptions(output);
    const job = await producer.addFrames({ video: videos[0]!, selection, ...output, fast: fields.fast === 'true' });
    queued = true;
    return await answerJob(producer, job, waitSeconds);
  } catch (err) {
    // Until a job owns the upload, nothing else will delete it.
    if (!queued) await discardUploads(videos);
    throw err;
  }
}

/**
 * A frames job: the frames written to the job's directory in the data dir, which the API serves
 * (so the worker must share it). A retried attempt starts clean, and a failed one leaves no frame.
 */
export async function extractJobFrames(
  deps: RunDeps,
  jobId: string,
  data: FramesJob,
  options: { signal?: AbortSignal | undefined; onProgress?: (done: number, total: number) => void },
): Promise<FramesResult> {
  requireSharedDataDir(await deps.dataDir(), 'frame extraction');
  const { extractFrames } = await import('../frames/extract.js');
  const dir = framesDir(deps.config, jobId);
  await rm(dir, { recursive: true, force: true });
  const manifest = await extractFrames(data.video.path, {
    selection: data.selection,
    outDir: dir,
    format: data.format,
    width: data.width,
    height: data.height,
    fit: data.fit,
    quality: data.quality,
    fast: data.fast,
    signal: options.signal,
    onProgress: options.onProgress,
  }).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  return { ...manifest, video: data.video.name };
}

/** Frame `n` of a finished frames job: its file in the data dir, format and time (404 / 409 otherwise). */
export async function jobFrame(deps: RequestDeps, id: string, n: number): Promise<{ file: string; size: number; format: string; timestamp: number }> {
  const job = await findJob<FramesJob, FramesResult>(deps.producer, id);
  if (job.name !== 'frames') throw new RequestRefused('not-found', 'NOT_A_FRAMES_JOB', `job "${job.id}" is not a frames job`);
  if (job.state !== 'completed') throw new RequestRefused('conflict', 'JOB_NOT_FINISHED', `job "${job.id}" is ${job.state}`);
  const result = job.returnvalue;
  const frame = result.frames[n];
  if (frame === undefined) throw new RequestRefused('not-found', 'FRAME_NOT_FOUND', `job "${job.id}" has ${result.frames.length} frames (0-${result.frames.length - 1})`);
  const file = path.join(framesDir(deps.config, job.id), path.basename(frame.file));
  const s = await stat(file).catch(() => undefined);
  if (s === undefined) throw new RequestRefused('not-found', 'FRAME_NOT_FOUND', `frame ${n} of job "${job.id}" is gone (expired)`);
  return { file, size: s.size, format: result.format, timestamp: frame.timestamp };
}
