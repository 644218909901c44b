import type { FastifyReply } from 'fastify';
import type { JobAnswer } from '../app/job-view.js';

/** A request that queued a job: 200 and the job's view when it finished in time, else 202 and where to look. */
export function replyWithJob(reply: FastifyReply, answer: JobAnswer): FastifyReply {
  return 'finished' in answer ? reply.status(200).send(answer.finished) : reply.status(202).send(answer.accepted);
}
