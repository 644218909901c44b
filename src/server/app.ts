import Fastify, { type FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { keyMatches, registerAuth } from './auth.js';
import { ApiError, registerErrorHandling } from './errors.js';
import { Accepted, ErrorBody, JobView } from './schemas.js';
import { checkRoutes } from './routes/check.js';
import { collectionRoutes } from './routes/collections.js';
import { framesRoutes } from './routes/frames.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { scanRoutes } from './routes/scans.js';
import { Producer } from '../service/producer.js';
import { QUEUE_NAMES } from '../service/jobs.js';
import { packageVersion } from '../version.js';
import { setMediaMemoryLimit } from '../media/process.js';
import type { ServiceConfig } from '../service/config.js';

/** What every route reads: settings, the queues, the version. No other state. */
export interface AppContext {
  config: ServiceConfig;
  producer: Producer;
  version: string;
}

export interface BuildOptions {
  /** false: no logs (tests). Default: JSON logs at LOG_LEVEL (info) with request ids. */
  logger?: false;
  /** Where the logs go (default stdout); tests read them to prove no secret is logged. */
  logStream?: NodeJS.WritableStream;
}

/** Headers every answer carries; pages get a CSP that allows only their own inline code and images. */
const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};
const CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** Swagger UI and bull-board load their own scripts and styles: they keep their defaults. */
const OWN_ASSETS = /^\/(docs|admin)(\/|\?|$)/;

/**
 * The HTTP service: its routes over the BullMQ queues. Nothing here decodes or matches;
 * workers (`vdedup worker`) do, through the same engine as the CLI. Tests call `inject` on it;
 * `vdedup serve` listens.
 */
export async function buildApp(config: ServiceConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger:
      options.logger === false
        ? false
        : {
            level: process.env.LOG_LEVEL ?? 'info',
            // Fastify logs no headers by default; should a serializer ever add them, keys stay out.
            redact: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'],
            ...(options.logStream === undefined ? {} : { stream: options.logStream }),
          },
    requestIdHeader: 'x-request-id',
    genReqId: () => crypto.randomUUID(),
    // Uploads of large videos take their time; a stuck client is cut off after an hour.
    requestTimeout: 3600_000,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  setMediaMemoryLimit(config.ffmpegMemoryMb); // the ffprobe screening of uploads
  const ctx: AppContext = { config, producer: new Producer(config), version: packageVersion() };
  app.addHook('onClose', async () => ctx.producer.close());
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
    if (!OWN_ASSETS.test(request.url)) reply.header('content-security-policy', CSP);
  });

  // Multipart bodies are streamed by the handler (receiveVideos), not parsed up front; the JSON
  // body schema then sees an empty object, and the handler checks the multipart fields itself.
  app.addHook('preValidation', async (request) => {
    if (request.isMultipart() && request.body === undefined) request.body = {};
  });
  registerErrorHandling(app);
  if (config.corsOrigins.length > 0) {
    const { default: cors } = await import('@fastify/cors');
    await app.register(cors, {
      origin: config.corsOrigins,
      allowedHeaders: ['authorization', 'content-type'],
      exposedHeaders: ['x-request-id', 'retry-after'],
    });
  }
  if (config.rateLimitPerMinute > 0) {
    // Before auth, so key guessing is limited too: requests with the right key count per key,
    // everything else per client address. Counted in Redis, so API processes behind one load
    // balancer share the budget; while Redis is down nothing is counted (every route that does
    // work answers 503 then anyway).
    const { default: rateLimit } = await import('@fastify/rate-limit');
    await app.register(rateLimit, {
      max: config.rateLimitPerMinute,
      timeWindow: 60_000,
      redis: ctx.producer.redis,
      nameSpace: `${config.prefix}:ratelimit:`,
      skipOnError: true,
      allowList: (request) => /^\/(health|docs)(\/|\?|$)/.test(request.url),
      keyGenerator: (request) => {
        const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1]?.trim();
        return config.apiKey !== undefined && bearer !== undefined && keyMatches(bearer, config.apiKey) ? 'key' : `ip:${request.ip}`;
      },
      errorResponseBuilder: (_request, c) =>
        new ApiError(429, 'RATE_LIMITED', `more than ${c.max} requests per minute (VDEDUP_RATE_LIMIT); retry in ${Math.ceil(c.ttl / 1000)} s`),
    });
  }
  registerAuth(app, config.apiKey);
  await app.register(multipart, { limits: { fileSize: config.maxUploadBytes } });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'vdedup',
        version: ctx.version,
        description:
          'Video near-duplicate checks against indexed collections, decontamination scans, and frame extraction. Long work is queued (BullMQ); answers carry a job or scan id to poll.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'VDEDUP_API_KEY, when the service sets one' } } },
      security: config.apiKey === undefined ? [] : [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  for (const s of [ErrorBody, JobView, Accepted]) app.addSchema(s);

  healthRoutes(app, ctx);
  checkRoutes(app, ctx);
  framesRoutes(app, ctx);
  collectionRoutes(app, ctx);
  scanRoutes(app, ctx);
  jobRoutes(app, ctx);

  // The queue dashboard (behind the same key as the API).
  const [{ createBullBoard }, { BullMQAdapter }, { FastifyAdapter }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/fastify'),
  ]);
  const board = new FastifyAdapter();
  board.setBasePath('/admin/queues');
  createBullBoard({ queues: QUEUE_NAMES.map((q) => new BullMQAdapter(ctx.producer.queue(q))), serverAdapter: board });
  await app.register(board.registerPlugin() as never, { prefix: '/admin/queues' });
  return app;
}
