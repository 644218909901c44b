import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { isInside } from './inputs.js';
import { uploadsDir } from '../config/paths.js';
import type { ServiceConfig } from '../config/service.js';
import { errorOfJob, QUEUE_NAMES, type QueueName, type VideoRef } from '../jobs/contract.js';
import type { JobRecord, Producer } from '../jobs/producer.js';

/** Delete the uploads of a request that failed before any job took ownership of them. */
export async function discardUploads(videos: VideoRef[]): Promise<void> {
  await Promise.all(videos.filter((v) => v.upload).map((v) => rm(path.dirname(v.path), { recursive: true, force: true })));
}

/**
 * A worker that does not share the API's data dir refuses jobs on uploads (DATA_DIR_NOT_SHARED)
 * and cannot delete them either: the upload is on the API's volume. The API deletes it when it
 * sees the refusal: at once for a request that waited (`answerJob`), else in its minutely sweep
 * of failed jobs (`RefusedUploadSweep`). Such a job is never retried. `job` must have failed with
 * DATA_DIR_NOT_SHARED (the caller checked).
 */
export async function discardRefusedUpload(job: Pick<JobRecord, 'data'>): Promise<void> {
  const video = (job.data as { video?: VideoRef } | undefined)?.video;
  if (video?.upload === true) await discardUploads([video]);
}

/** Queues whose jobs may carry an upload (a scan's jobs name paths only). */
const UPLOAD_QUEUES: readonly QueueName[] = QUEUE_NAMES.filter((q) => q !== 'scan');
/** Failed jobs read per Redis round trip. */
const SWEEP_PAGE = 100;
/**
 * Failures finished this long before the previous sweep are read again: a job's finish time is
 * its worker's clock, which may lag the API's a little.
 */
const SWEEP_CLOCK_MARGIN_MS = 10 * 60 * 1000;

/**
 * Deletes the uploads of failed jobs that workers on another volume refused (DATA_DIR_NOT_SHARED)
 * and that are still on this API's volume. Each run reads the failures since the previous one
 * (newest first, page by page, at most `limit` per queue), not every failed job the queues keep.
 */
export class RefusedUploadSweep {
  /** Newest finish time seen (ms): the next run stops at failures older than this (less a margin). */
  private since = 0;

  constructor(
    private readonly producer: Pick<Producer, 'failedJobs'>,
    private readonly config: ServiceConfig,
  ) {}

  /** Uploads deleted by this run. */
  async run(limit = 1000): Promise<number> {
    const uploads = path.resolve(uploadsDir(this.config));
    const stopBefore = this.since - SWEEP_CLOCK_MARGIN_MS;
    let removed = 0;
    for (const name of UPLOAD_QUEUES) {
      for (let start = 0; start < limit; start += SWEEP_PAGE) {
        const page = await this.producer.failedJobs(name, start, Math.min(start + SWEEP_PAGE, limit) - 1);
        for (const job of page) {
          if (job === undefined) continue;
          this.since = Math.max(this.since, job.finishedOn ?? 0);
          const video = (job.data as { video?: VideoRef } | undefined)?.video;
          if (video === undefined || !video.upload || !isInside(uploads, path.resolve(video.path))) continue;
          if (errorOfJob(job.failedReason).code !== 'DATA_DIR_NOT_SHARED' || !existsSync(video.path)) continue;
          await discardRefusedUpload(job);
          removed++;
        }
        const oldest = page.at(-1)?.finishedOn ?? 0;
        if (page.length < SWEEP_PAGE || oldest < stopBefore) break;
      }
    }
    return removed;
  }
}
