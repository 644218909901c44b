import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app.js';
import { ApiError } from '../errors.js';
import { findJob, viewJob, withState } from '../../app/job-view.js';
import { errorResponses } from '../schemas.js';
import { framesDir } from '../../config/paths.js';
import type { FramesResult } from '../../jobs/contract.js';

const CONTENT_TYPES: Record<string, string> = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };

export function jobRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id',
    {
      schema: {
        operationId: 'getJob',
        tags: ['jobs'],
        summary: 'A job: state, progress, result or error',
        params: Type.Object({ id: Type.String({ minLength: 1 }) }),
        response: { 200: Type.Ref('JobView'), ...errorResponses(404) },
      },
    },
    async (request) => viewJob(ctx.producer, request.params.id),
  );

  app.get<{ Params: { id: string; n: number } }>(
    '/v1/jobs/:id/frames/:n',
    {
      schema: {
        operationId: 'getJobFrame',
        tags: ['frames'],
        summary: 'Frame n of a finished frames job (the image, as extracted)',
        params: Type.Object({ id: Type.String({ minLength: 1 }), n: Type.Integer({ minimum: 0 }) }),
        response: {
          200: {
            description: 'The image, in the format the job asked for; X-Frame-Timestamp: its time in seconds',
            content: Object.fromEntries(Object.values(CONTENT_TYPES).map((type) => [type, { schema: Type.String({ format: 'binary' }) }])),
          },
          ...errorResponses(404, 409),
        },
      },
    },
    async (request, reply) => {
      const found = await findJob(ctx.producer, request.params.id);
      if (found.name !== 'frames') throw new ApiError(404, 'NOT_A_FRAMES_JOB', `job "${found.id}" is not a frames job`);
      const { job, state } = await withState(ctx.producer, found);
      if (state !== 'completed') throw new ApiError(409, 'JOB_NOT_FINISHED', `job "${job.id}" is ${state}`);
      const result = job.returnvalue as FramesResult;
      const frame = result.frames[request.params.n];
      if (frame === undefined) throw new ApiError(404, 'FRAME_NOT_FOUND', `job "${job.id}" has ${result.frames.length} frames (0-${result.frames.length - 1})`);
      const file = path.join(framesDir(ctx.config, job.id!), path.basename(frame.file));
      const s = await stat(file).catch(() => undefined);
      if (s === undefined) throw new ApiError(404, 'FRAME_NOT_FOUND', `frame ${request.params.n} of job "${job.id}" is gone (expired)`);
      return reply
        .header('content-type', CONTENT_TYPES[result.format] ?? 'application/octet-stream')
        .header('content-length', s.size)
        .header('x-frame-timestamp', String(frame.timestamp))
        .send(createReadStream(file));
    },
  );
}
