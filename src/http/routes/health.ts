import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app.js';
import { keyMatches } from '../plugins/auth.js';
import { redactUrl } from '../../config/service.js';
import { dataDirState, workersKey } from '../../config/data-dir.js';
import { binaryVersionLine, ffmpegBinary, ffprobeBinary, type ResolvedBinary } from '../../media/binaries.js';
import { native } from '../../native/binding.js';
import { mediaMemoryLimit } from '../../media/process.js';

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

function describe(resolve: () => ResolvedBinary): { ok: boolean; detail: string; path?: string; source?: string } {
  try {
    const bin = resolve();
    return { ok: true, detail: binaryVersionLine(bin), path: bin.path, source: bin.source };
  } catch (err) {
    return { ok: false, detail: (err as Error).message.split('\n')[0] ?? 'unavailable' };
  }
}

/** Workers that have not reported for this long are gone (they report every 30 s). */
const WORKER_FRESH_MS = 90_000;

/** The API's own view of the data dir marker and what each live worker last reported; paths only for `trusted` callers. */
async function dataDirHealth(ctx: AppContext, trusted: boolean) {
  const redis = ctx.producer.redis;
  const own = await dataDirState(redis, ctx.config);
  const now = Date.now();
  const workers = Object.entries(await redis.hgetall(workersKey(ctx.config)))
    .map(([name, raw]) => ({ name, ...(JSON.parse(raw) as { shared: boolean | null; detail: string; at: number }) }))
    .filter((w) => now - w.at < WORKER_FRESH_MS)
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((w) => ({ name: w.name, shared: w.shared, detail: trusted ? w.detail : w.shared === false ? 'does not share the data dir' : 'ok' }));
  const notShared = workers.filter((w) => w.shared === false).length;
  const detail =
    own.shared === false
      ? trusted
        ? own.detail
        : 'this API does not share the data dir with the API that published the marker'
      : notShared > 0
        ? `${notShared} of ${workers.length} workers do not share the API's data dir: their jobs on uploads and frame extraction fail with DATA_DIR_NOT_SHARED`
        : `${workers.length} workers share the API's data dir`;
  return { ok: own.shared !== false && notShared === 0, detail, workers };
}

export function healthRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.addSchema(Health);
  // /health is open; where Redis is, only callers holding the key (when there is one) may see.
  const hasKey = (authorization: string | undefined) => {
    if (ctx.config.apiKey === undefined) return true;
    const bearer = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
    return bearer !== undefined && keyMatches(bearer, ctx.config.apiKey);
  };
  // Binaries and the native module do not change while the process runs: look once.
  let tools: { ffmpeg: ReturnType<typeof describe>; ffprobe: ReturnType<typeof describe>; native: { ok: boolean; detail: string } } | undefined;
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
      const looked = tools ?? {
        ffmpeg: describe(ffmpegBinary),
        ffprobe: describe(ffprobeBinary),
        native: (() => {
          try {
            return { ok: true, detail: `vdedup-core ${native().nativeVersion()}, frame scan ${native().scanKernel()}` };
          } catch (err) {
            return { ok: false, detail: (err as Error).message };
          }
        })(),
      };
      // A binary found stays found; a missing one is looked for again (it may be installed meanwhile).
      if (looked.ffmpeg.ok && looked.ffprobe.ok && looked.native.ok) tools = looked;
      const trusted = hasKey(request.headers.authorization);
      let redis: { ok: boolean; detail: string; latencyMs?: number };
      let queues: Record<string, Record<string, number>> | null = null;
      let dataDir: { ok: boolean; detail: string; workers: Array<{ name: string; shared: boolean | null; detail: string }> } = {
        ok: true,
        detail: 'unknown while Redis is unreachable',
        workers: [],
      };
      try {
        const latencyMs = await ctx.producer.ping();
        queues = await ctx.producer.counts();
        redis = { ok: true, detail: trusted ? redactUrl(ctx.config.redisUrl) : 'reachable', latencyMs };
        dataDir = await dataDirHealth(ctx, trusted);
      } catch (err) {
        redis = { ok: false, detail: (err as Error).message };
      }
      const ok = redis.ok && looked.ffmpeg.ok && looked.ffprobe.ok && looked.native.ok && dataDir.ok;
      const c = ctx.config;
      const limits = {
        ffmpegMemory: mediaMemoryLimit(),
        jobTimeoutSeconds: c.jobTimeoutMs / 1000,
        maxUploadBytes: c.maxUploadBytes,
        maxQueueDepth: c.maxQueueDepth,
        rateLimitPerMinute: c.rateLimitPerMinute,
      };
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', version: ctx.version, redis, ...looked, queues, dataDir, limits });
    },
  );
}
