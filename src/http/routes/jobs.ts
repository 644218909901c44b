import { createReadStream } from 'node:fs';
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { errorResponses } from '../schemas.js';
import { jobFrame } from '../../app/frames-job.js';
import { viewJob } from '../../app/job-view.js';

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
      const frame = await jobFrame(ctx, request.params.id, request.params.n);
      return reply
        .header('content-type', CONTENT_TYPES[frame.format] ?? 'application/octet-stream')
        .header('content-length', frame.size)
        .header('x-frame-timestamp', String(frame.timestamp))
        .send(createReadStream(frame.file));
    },
  );
}
