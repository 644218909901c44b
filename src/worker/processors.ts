import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Job, UnrecoverableError, type Queue } from 'bullmq';
import { runCheck } from '../app/check.js';
import { addMember } from '../app/collections.js';
import type { RunDeps } from '../app/deps.js';
import { extractJobFrames } from '../app/frames-job.js';
import { fingerprintBatch, runScanFlow, type BatchVideo } from '../app/scan-run.js';
import { requireSharedDataDir } from '../config/data-dir.js';
import type {
  CheckJob,
  CheckResult,
  CollectionAddJob,
  CollectionAddResult,
  FramesJob,
  FramesResult,
  ScanBatchJob,
  ScanBatchResult,
  ScanJob,
  ScanResult,
  VideoRef,
} from '../jobs/contract.js';
import { isBadInput, isBadInputCode, isVdedupError, type ErrorCode } from '../errors.js';

/**
 * The processors: each turns a BullMQ job into the use case that runs it (src/app), and the use
 * case's outcome into what BullMQ keeps: progress, a result, or a failure that is retried or not.
 */

export interface ProcessorDeps extends RunDeps {
  /** The fingerprint queue, where a scan's child batches live (to read the data of failed ones). */
  fingerprintQueue: Queue;
}

/** Failures no retry can fix: bad input, a collection the worker cannot see whole, a data dir it does not share. */
const notRetried = (code: ErrorCode) => isBadInputCode(code) || code === 'COLLECTION_INCOMPLETE' || code === 'DATA_DIR_NOT_SHARED';

/** A job's failure as BullMQ stores it: "CODE: message", parsed back by `errorOfJob`. */
function asJobError(err: unknown): Error {
  if (isVdedupError(err)) {
    const text = `${err.code}: ${err.oneLine()}`;
    return notRetried(err.code) ? new UnrecoverableError(text) : new Error(text);
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** The job's own time limit (VDEDUP_JOB_TIMEOUT_SECONDS) fired, as opposed to a worker shutdown. */
export function timedOut(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && (signal.reason as { name?: string } | undefined)?.name === 'TimeoutError';
}

/** Uploads are deleted once no attempt will read them again (done, bad input, timed out, or out of attempts). */
async function withUpload<T>(deps: ProcessorDeps, job: Job, video: VideoRef, signal: AbortSignal | undefined, body: () => Promise<T>): Promise<T> {
  let finished = false;
  try {
    // An upload is a file in the API's data dir: a worker on another volume would not find it.
    if (video.upload) requireSharedDataDir(await deps.dataDir(), 'a job on an uploaded video');
    const r = await body();
    finished = true;
    return r;
  } catch (err) {
    finished = isBadInput(err) || timedOut(signal) || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    // An upload is named by the client's file name in errors, not by where the server keeps it.
    const named = video.upload && isVdedupError(err) ? err.asUpload(video.path, video.name) : err;
    throw asJobError(named);
  } finally {
    if (finished && video.upload) await rm(path.dirname(video.path), { recursive: true, force: true });
  }
}

const progressThrottle = () => {
  let last = 0;
  return (fn: () => Promise<unknown>) => {
    const now = Date.now();
    if (now - last < 500) return;
    last = now;
    void fn().catch(() => undefined);
  };
};

export function fingerprintProcessor(deps: ProcessorDeps) {
  return async (job: Job, _token?: string, signal?: AbortSignal): Promise<CollectionAddResult | ScanBatchResult> => {
    if (job.name === 'collection-add') {
      const data = job.data as CollectionAddJob;
      return withUpload(deps, job, data.video, signal, () => {
        const throttle = progressThrottle();
        return addMember(deps, data, {
          signal,
          onProgress: (done, total) => throttle(() => job.updateProgress({ frames: done, expectedFrames: total ?? null })),
        });
      });
    }
    if (job.name === 'scan-batch') {
      try {
        return await fingerprintBatch(deps, job.data as ScanBatchJob, { signal, onProgress: (done, total) => job.updateProgress({ done, total }) });
      } catch (err) {
        throw asJobError(err);
      }
    }
    throw new UnrecoverableError(`INVALID_ARGUMENT: unknown fingerprint job "${job.name}"`);
  };
}

export function checkProcessor(deps: ProcessorDeps) {
  return async (job: Job<CheckJob>, _token?: string, signal?: AbortSignal): Promise<CheckResult> =>
    withUpload(deps, job, job.data.video, signal, () => runCheck(deps, job.data, signal));
}

/**
 * The files a scan flow's children fingerprinted, in batch order: each with its refs and its store
 * key or error. A batch that failed for good left no result: its files come back without either
 * (the parent fingerprints them itself).
 */
async function childVideos(deps: ProcessorDeps, job: Job<ScanJob>): Promise<BatchVideo[]> {
  const batchIndex = (key: string) => Number(key.slice(key.lastIndexOf('.') + 1));
  const jobId = (key: string) => key.split(':').slice(2).join(':');
  const done = Object.entries(await job.getChildrenValues<ScanBatchResult>()).map(([key, r]) => ({ i: batchIndex(key), videos: r.videos }));
  const failed = await Promise.all(
    Object.keys(await job.getIgnoredChildrenFailures()).map(async (key) => {
      const child = await Job.fromId<ScanBatchJob>(deps.fingerprintQueue, jobId(key));
      return { i: batchIndex(key), videos: (child?.data.videos ?? []) as BatchVideo[] };
    }),
  );
  return [...done, ...failed].sort((a, b) => a.i - b.i).flatMap((b) => b.videos);
}

/** The parent of a scan flow: runs once every child batch has fingerprinted its files into the store. */
export function scanProcessor(deps: ProcessorDeps) {
  return async (job: Job<ScanJob>, _token?: string, signal?: AbortSignal): Promise<ScanResult> => {
    try {
      const throttle = progressThrottle();
      return await runScanFlow(deps, {
        scanId: job.id!,
        data: job.data,
        videos: await childVideos(deps, job),
        requestedAt: job.timestamp,
        signal,
        onProgress: (p) => throttle(() => job.updateProgress(p)),
      });
    } catch (err) {
      throw asJobError(err);
    }
  };
}

export function framesProcessor(deps: ProcessorDeps) {
  return async (job: Job<FramesJob>, _token?: string, signal?: AbortSignal): Promise<FramesResult> =>
    withUpload(deps, job, job.data.video, signal, async () => {
      const throttle = progressThrottle();
      const result = await extractJobFrames(deps, job.id!, job.data, { signal, onProgress: (done, total) => throttle(() => job.updateProgress({ done, total })) });
      // Progress updates are throttled: the last one may lag behind the finished job.
      await job.updateProgress({ done: result.frames.length, total: result.frames.length });
      return result;
    });
}
