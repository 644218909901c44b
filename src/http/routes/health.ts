import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { keyMatches } from '../plugins/auth.js';
import { ServiceHealth } from '../../app/health.js';

const Component = Type.Object({ ok: Type.Boolean(), detail: Type.String() }, { additionalProperties: true });
const Health = Type.Object(
  {
    status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
    version: Type.String(),
    redis: Type.Object({ ok: Type.Boolean(), detail: Type.String(), latencyMs: Type.Optional(Type.Number()) }),
    ffmpeg: Component,
    ffprobe: Component,
    native: Component,
    queues: Type.Union([Type.Record(Type.String(), Type.Record(Type.String(), Type.Integer())), Type.Null()]),
    dataDir: Type.Object(
      {
        ok: Type.Boolean({ description: 'false when this API or a worker that reported in the last 90 s does not share VDEDUP_DATA_DIR' }),
        detail: Type.String(),
        workers: Type.Array(
          Type.Object({
            name: Type.String({ description: 'host:pid' }),
            shared: Type.Union([Type.Boolean(), Type.Null()], { description: 'null: no marker published yet to judge by' }),
            detail: Type.String(),
          }),
        ),
      },
      { description: 'Whether the API and its workers mount one data volume (uploads, frames and evidence strips need it); paths only with the key' },
    ),
    limits: Type.Object({
      ffmpegMemory: Type.String({ description: 'memory cap of each ffmpeg/ffprobe this process runs' }),
      jobTimeoutSeconds: Type.Number(),
      maxUploadBytes: Type.Number(),
      maxQueueDepth: Type.Integer(),
      rateLimitPerMinute: Type.Integer({ description: '0: off' }),
    }),
  },
  { $id: 'Health' },
);

export function healthRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.addSchema(Health);
  // /health is open; where Redis is, only callers holding the key (when there is one) may see.
  const hasKey = (authorization: string | undefined) => {
    if (ctx.config.apiKey === undefined) return true;
    const bearer = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
    return bearer !== undefined && keyMatches(bearer, ctx.config.apiKey);
  };
  const health = new ServiceHealth(ctx);
  app.get(
    '/health',
    {
      schema: {
        tags: ['service'],
        summary: 'Redis, ffmpeg/ffprobe (which binary), native module, queue depths; 503 when something is missing',
        description: 'Open to everyone (no key needed); where Redis is (its URL, credentials masked) is shown only to callers with the key when VDEDUP_API_KEY is set.',
        security: [],
        response: { 200: Type.Ref('Health'), 503: Type.Ref('Health') },
      },
    },
    async (request, reply) => {
      const report = await health.report(hasKey(request.headers.authorization));
      return reply.status(report.status === 'ok' ? 200 : 503).send(report);
    },
  );
}
