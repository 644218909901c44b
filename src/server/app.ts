import Fastify, { type FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { registerAuth } from './auth.js';
import { registerErrorHandling } from './errors.js';
import { Accepted, ErrorBody, JobView } from './schemas.js';
import { checkRoutes } from './routes/check.js';
import { collectionRoutes } from './routes/collections.js';
import { framesRoutes } from './routes/frames.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { scanRoutes } from './routes/scans.js';
import { Producer } from '../queue/producer.js';
import { QUEUE_NAMES } from '../queue/jobs.js';
import { packageVersion } from '../cli/version.js';
import type { ServiceConfig } from '../service/config.js';

/** What every route reads: settings, the queues, the version. No other state. */
export interface AppContext {
  config: ServiceConfig;
  producer: Producer;
  version: string;
}

export interface BuildOptions {
  /** pino logger options, or false (tests). Default: JSON logs at info with request ids. */
  logger?: boolean | { level: string };
}

/**
 * The HTTP service: routes of DESIGN §2 over the BullMQ queues. Nothing here decodes or matches;
 * workers (`vdedup worker`) do, through the same engine as the CLI. Tests call `inject` on it;
 * `vdedup serve` listens.
 */
export async function buildApp(config: ServiceConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? { level: process.env.LOG_LEVEL ?? 'info' },
    requestIdHeader: 'x-request-id',
    genReqId: () => crypto.randomUUID(),
    // Uploads of large videos take their time; a stuck client is cut off after an hour.
    requestTimeout: 3600_000,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  const ctx: AppContext = { config, producer: new Producer(config), version: packageVersion() };
  app.addHook('onClose', async () => ctx.producer.close());
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  // Multipart bodies are streamed by the handler (receiveVideos), not parsed up front; the JSON
  // body schema then sees an empty object, and the handler checks the multipart fields itself.
  app.addHook('preValidation', async (request) => {
    if (request.isMultipart() && request.body === undefined) request.body = {};
  });
  registerErrorHandling(app);
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
