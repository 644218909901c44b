import { RequestRefused } from './errors.js';
import { discardRefusedUpload } from './uploads.js';
import { isBadInputCode } from '../errors.js';
import { errorOfJob, queueOfJobId, type FramesResult } from '../jobs/contract.js';
import type { JobRecord, Producer, QueuedJob } from '../jobs/producer.js';

/** What GET /v1/jobs/:id answers: a job, its state, and its result or error once it has one. */
export interface JobView {
  jobId: string;
  queue: string;
  name: string;
  state: string;
  progress: unknown;
  attemptsMade: number;
  createdAt: string;
  finishedAt: string | null;
  processedBy: string | null;
  result?: unknown;
  error?: { code: string; message: string };
}

/** A job queued and not finished in the time asked for: where to look. */
export interface Accepted {
  jobId: string;
  state: string;
  statusUrl: string;
}

/** What a request that queues a job answers: the job's view when it finished in time, else where to look. */
export type JobAnswer = { finished: JobView } | { accepted: Accepted };

/** Frames results name files; clients get URLs they can fetch. */
function withFrameUrls(jobId: string, result: FramesResult): unknown {
  return { ...result, frames: result.frames.map((f, n) => ({ ...f, url: `/v1/jobs/${encodeURIComponent(jobId)}/frames/${n}` })) };
}

export function jobView(job: JobRecord): JobView {
  const view: JobView = {
    jobId: job.id,
    queue: queueOfJobId(job.id) ?? job.queueName,
    name: job.name,
    state: job.state,
    progress: job.progress ?? null,
    attemptsMade: job.attemptsMade,
    createdAt: new Date(job.timestamp).toISOString(),
    finishedAt: job.finishedOn === undefined ? null : new Date(job.finishedOn).toISOString(),
    processedBy: job.processedBy ?? null,
  };
  if (job.state === 'completed') view.result = job.name === 'frames' ? withFrameUrls(job.id, job.returnvalue as FramesResult) : job.returnvalue;
  if (job.state === 'failed') view.error = errorOfJob(job.failedReason);
  return view;
}

/** The job of this id with its state (404 when there is none). */
export async function findJob<Data = unknown, Result = unknown>(producer: Producer, id: string): Promise<JobRecord<Data, Result>> {
  const job = await producer.readJob<Data, Result>(id);
  if (job === undefined) throw new RequestRefused('not-found', 'JOB_NOT_FOUND', `no job "${id}" (unknown, or removed after the retention time)`);
  return job;
}

/** What GET /v1/jobs/:id answers for the job of that id (404 when there is none). */
export async function viewJob(producer: Producer, id: string): Promise<JobView> {
  return jobView(await findJob(producer, id));
}

/** A job just queued: where to look, or, with a wait and the job done in time, its view. */
export async function answerJob(producer: Producer, job: QueuedJob<unknown>, waitSeconds: number): Promise<JobAnswer> {
  if (waitSeconds > 0 && (await producer.waitFor(job.id, waitSeconds))) {
    const view = await viewJob(producer, job.id);
    if (view.error?.code === 'DATA_DIR_NOT_SHARED') await discardRefusedUpload(job);
    // The worker found the input unusable (corrupt, truncated, no frames...): the client's fault, 422.
    if (view.state === 'failed' && view.error !== undefined && isBadInputCode(view.error.code)) {
      throw new RequestRefused('unusable', view.error.code, `${view.error.message} (job ${view.jobId})`);
    }
    return { finished: view };
  }
  const state = await producer.state(job.id);
  return { accepted: { jobId: job.id, state, statusUrl: `/v1/jobs/${encodeURIComponent(job.id)}` } };
}
