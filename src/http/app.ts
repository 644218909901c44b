import Fastify, { type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import auth from './plugins/auth.js';
import contract from './plugins/contract.js';
import cors from './plugins/cors.js';
import errorHandler, { answerClientError, answerFrameworkError } from './plugins/error-handler.js';
import openapi from './plugins/openapi.js';
import { queueBoard } from './plugins/queue-board.js';
import rateLimit from './plugins/rate-limit.js';
import securityHeaders from './plugins/security-headers.js';
import strictQuery from './plugins/strict-query.js';
import uploads from './plugins/uploads.js';
import { checkRoutes } from './routes/check.js';
import { collectionRoutes } from './routes/collections.js';
import { framesRoutes } from './routes/frames.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { scanRoutes } from './routes/scans.js';
import { validatorCompiler } from './validation.js';
import type { AppContext } from './context.js';
import { RefusedUploadSweep } from '../app/uploads.js';
import { publishDataDirMarker } from '../config/data-dir.js';
import type { ServiceConfig } from '../config/service.js';
import { Producer } from '../jobs/producer.js';
import { setMediaMemoryLimit } from '../media/process.js';
import { packageVersion } from '../version.js';

/** Credential-looking query parameters (api_key=..., token=...) with their values masked, for logs. */
export function redactQueryCredentials(url: string): string {
  return url.replace(/([?&](?:api[_-]?key|key|token|access[_-]?token|auth|password|secret)=)[^&#]*/gi, '$1***');
}

export interface BuildOptions {
  /** false: no logs (tests). Default: JSON logs at the configured level (LOG_LEVEL, info) with request ids. */
  logger?: false;
  /** Where the logs go (default stdout); tests read them to prove no secret is logged. */
  logStream?: NodeJS.WritableStream;
}

/** How often the API makes sure its data dir marker is published (Redis may restart and lose it). */
const MARKER_EVERY_MS = 60_000;
/** Until a first publication succeeds (Redis still connecting at start, or away), it is retried this often. */
const MARKER_RETRY_MS = 500;

/**
 * The API publishes its data dir marker (src/config/data-dir.ts) as soon as Redis answers, then
 * every minute; it says once, loudly, when its own data dir is not the one another API published.
 * Each time it also deletes uploads that workers on another volume refused (RefusedUploadSweep).
 * Not awaited at start: the API serves (503 while Redis is away) whether or not it has published.
 */
function publishMarker(app: FastifyInstance, ctx: AppContext): void {
  let said: boolean | null | undefined;
  const sweep = new RefusedUploadSweep(ctx.producer, ctx.config);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const publish = async (): Promise<boolean> => {
    try {
      const state = await publishDataDirMarker(ctx.producer.redis, ctx.config);
      if (state.shared === false && said !== false) app.log.error({ dataDir: ctx.config.dataDir }, state.detail);
      said = state.shared;
      // Uploads that workers on another volume refused are this API's to delete.
      const removed = await sweep.run().catch(() => 0);
      if (removed > 0) app.log.info({ removed }, 'removed uploads refused with DATA_DIR_NOT_SHARED');
      return true;
    } catch {
      // The producer's connection does not queue commands while it connects: try again shortly.
      return false;
    }
  };
  const schedule = (ok: boolean) => {
    if (closed) return;
    timer = setTimeout(() => void publish().then(schedule), ok ? MARKER_EVERY_MS : MARKER_RETRY_MS);
    timer.unref();
  };
  app.addHook('onReady', async () => {
    schedule(await publish());
  });
  app.addHook('onClose', async () => {
    closed = true;
    clearTimeout(timer);
  });
}

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
            level: config.logLevel,
            // Fastify logs no headers by default; should a serializer ever add them, keys stay out.
            redact: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'],
            // A key sent in the query string is refused, and not written to the log either.
            serializers: {
              req: (req: { method: string; url: string; ip?: string }) => ({ method: req.method, url: redactQueryCredentials(req.url), remoteAddress: req.ip }),
            },
            ...(options.logStream === undefined ? {} : { stream: options.logStream }),
          },
    requestIdHeader: 'x-request-id',
    genReqId: () => crypto.randomUUID(),
    // Uploads of large videos take their time; a stuck client is cut off after an hour.
    requestTimeout: 3600_000,
    bodyLimit: 1024 * 1024,
    // Path parameters as long as a request line can be (Node's 16 KiB header limit): a long
    // collection name or id then reaches the route and is refused by its schema (400) or not found
    // (404), instead of Fastify's own 414. What Node refuses before Fastify sees it (431), and URLs
    // Fastify cannot route, still answer { error: { code, message } }:
    routerOptions: { maxParamLength: 16 * 1024 },
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Requests are checked against the schemas the document shows (http/validation.ts): JSON
  // bodies as sent, query strings and path parameters read as their declared types.
  app.setValidatorCompiler(validatorCompiler);
  setMediaMemoryLimit(config.ffmpegMemoryMb); // the ffprobe screening of uploads
  const ctx: AppContext = { config, producer: new Producer(config), version: packageVersion() };
  app.addHook('onClose', async () => ctx.producer.close());
  publishMarker(app, ctx);

  // One plugin per concern (src/http/plugins), in the order requests meet them.
  await app.register(securityHeaders);
  await app.register(errorHandler);
  await app.register(cors, { origins: config.corsOrigins });
  await app.register(rateLimit, { perMinute: config.rateLimitPerMinute, apiKey: config.apiKey, redis: ctx.producer.redis, prefix: config.prefix });
  await app.register(auth, { apiKey: config.apiKey });
  await app.register(uploads, { maxUploadBytes: config.maxUploadBytes });
  await app.register(openapi, { version: ctx.version, apiKey: config.apiKey });
  await app.register(strictQuery);
  await app.register(contract, { apiKey: config.apiKey, rateLimited: config.rateLimitPerMinute > 0 });

  // Routes, one file per resource (src/http/routes), each calling the use cases in src/app.
  healthRoutes(app, ctx);
  checkRoutes(app, ctx);
  framesRoutes(app, ctx);
  collectionRoutes(app, ctx);
  scanRoutes(app, ctx);
  jobRoutes(app, ctx);
  await queueBoard(app, ctx.producer);
  return app;
}
