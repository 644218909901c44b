import type { FastifyError } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.js';
import { isRedisConnectionError, QueueFullError, RedisUnavailableError } from '../../service/producer.js';
import { isVdedupError, type ErrorCode } from '../../errors.js';

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  FILE_NOT_FOUND: 404,
  NOT_A_FILE: 400,
  EMPTY_FILE: 422,
  FFMPEG_NOT_FOUND: 500,
  NATIVE_MODULE_MISSING: 500,
  STORE_WRITE_FAILED: 507,
};

/** Every failure answers `{ error: { code, message } }` with its status; unknown routes too. */
export default fp(
  async (app) => {
  app.setErrorHandler((err: FastifyError | Error, request, reply) => {
    let status = 500;
    let code = 'INTERNAL';
    let message = err.message;
    if (err instanceof ApiError) {
      status = err.statusCode;
      code = err.code;
    } else if (err instanceof RedisUnavailableError || isRedisConnectionError(err)) {
      // Steps outside producer.guard() (a job's state, say) meet an outage as raw ioredis errors.
      status = 503;
      code = 'REDIS_UNAVAILABLE';
      message = new RedisUnavailableError().message;
    } else if (err instanceof QueueFullError) {
      status = 429;
      code = 'QUEUE_FULL';
      reply.header('retry-after', '30');
    } else if (isVdedupError(err)) {
      status = STATUS_OF[err.code] ?? 422;
      code = err.code;
      message = err.oneLine();
    } else if ('validation' in err && err.validation !== undefined) {
      status = 400;
      code = 'VALIDATION';
    } else if ('statusCode' in err && typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      // Fastify's own client errors (bad JSON, unsupported media type, multipart limits).
      status = err.statusCode;
      code = status === 413 ? 'FILE_TOO_LARGE' : (err.code ?? 'BAD_REQUEST').replace(/^FST_/, '');
    }
    if (status >= 500 && status !== 503) request.log.error({ err }, 'request failed');
    if (status === 503) reply.header('retry-after', '5');
    void reply.status(status).send({ error: { code, message } });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` } });
  });
  },
  { name: 'vdedup-errors' },
);
