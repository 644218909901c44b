import type { FastifyReply } from 'fastify';
import type { Job } from 'bullmq';
import { queueOfJobId, type Producer } from '../jobs/producer.js';
import { errorOfJob, type FramesResult } from '../jobs/contract.js';
import { isBadInputCode } from '../errors.js';
import { ApiError } from '../http/errors.js';
import { discardRefusedUpload } from '../http/inputs.js';

export interface JobViewBody {
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

/** Frames results name files; clients get URLs they can fetch. */
function withFrameUrls(jobId: string, result: FramesResult): unknown {
  return { ...result, frames: result.frames.map((f, n) => ({ ...f, url: `/v1/jobs/${encodeURIComponent(jobId)}/frames/${n}` })) };
}

/**
 * A job and its state, read consistently. BullMQ keeps them apart (the job's hash, the state's
 * lists): a job read just before it finished, with its state read just after, shows a finished
 * state without its result or finish time. Such a job is read again (it was seen as
 * `{"state":"completed","result":null}` under load).
 */
export async function withState(producer: Producer, job: Job): Promise<{ job: Job; state: string }> {
  const state = await producer.guard(() => job.getState());
  if ((state !== 'completed' && state !== 'failed') || job.finishedOn !== undefined) return { job, state };
  const again = await findJob(producer, job.id!);
  return { job: again, state: await producer.guard(() => again.getState()) };
}

/** What GET /v1/jobs/:id answers for the job of that id (404 when there is none). */
export async function viewJob(producer: Producer, id: string): Promise<JobViewBody> {
  return jobView(await withState(producer, await findJob(producer, id)));
}

function jobView({ job, state }: { job: Job; state: string }): JobViewBody {
  const id = job.id!;
  const view: JobViewBody = {
    jobId: id,
    queue: queueOfJobId(id) ?? job.queueName,
    name: job.name,
    state,
    progress: job.progress ?? null,
    attemptsMade: job.attemptsMade,
    createdAt: new Date(job.timestamp).toISOString(),
    finishedAt: job.finishedOn === undefined ? null : new Date(job.finishedOn).toISOString(),
    processedBy: job.processedBy ?? null,
  };
  if (state === 'completed') view.result = job.name === 'frames' ? withFrameUrls(id, job.returnvalue as FramesResult) : job.returnvalue;
  if (state === 'failed') view.error = errorOfJob(job.failedReason);
  return view;
}

export async function findJob(producer: Producer, id: string): Promise<Job> {
  const job = await producer.getJob(id);
  if (job === undefined) throw new ApiError(404, 'JOB_NOT_FOUND', `no job "${id}" (unknown, or removed after the retention time)`);
  return job;
}

/** 202 with where to look, or, with ?wait= and the job done in time, 200 with its view. */
export async function answerJob(producer: Producer, job: Job, waitSeconds: number, reply: FastifyReply): Promise<unknown> {
  if (waitSeconds > 0 && (await producer.waitFor(job, waitSeconds))) {
    const view = await viewJob(producer, job.id!);
    if (view.error?.code === 'DATA_DIR_NOT_SHARED') await discardRefusedUpload(job);
    // The worker found the input unusable (corrupt, truncated, no frames...): the client's fault, 422.
    if (view.state === 'failed' && view.error !== undefined && isBadInputCode(view.error.code)) {
      throw new ApiError(422, view.error.code, `${view.error.message} (job ${view.jobId})`);
    }
    return reply.status(200).send(view);
  }
  const state = await producer.guard(() => job.getState());
  return reply.status(202).send({ jobId: job.id!, state, statusUrl: `/v1/jobs/${encodeURIComponent(job.id!)}` });
}
