import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.js';
import { RequestRefused, type Refusal } from '../../app/errors.js';
import { isRedisConnectionError, QueueFullError, RedisUnavailableError } from '../../jobs/producer.js';
import { isVdedupError, type ErrorCode } from '../../errors.js';

const STATUS_OF_REFUSAL: Record<Refusal, number> = { invalid: 400, forbidden: 403, 'not-found': 404, conflict: 409, unusable: 422 };

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  FILE_NOT_FOUND: 404,
  NOT_A_FILE: 400,
  EMPTY_FILE: 422,
  FFMPEG_NOT_FOUND: 500,
  NATIVE_MODULE_MISSING: 500,
  STORE_WRITE_FAILED: 507,
};

/** Fastify's (and @fastify/multipart's) client errors, by the codes clients see. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_REQ_FILE_TOO_LARGE: 'FILE_TOO_LARGE',
  FST_PARTS_LIMIT: 'TOO_MANY_PARTS',
  FST_FIELDS_LIMIT: 'TOO_MANY_FIELDS',
};

/** Messages that say what to do instead. */
const FASTIFY_MESSAGES: Record<string, (request: FastifyRequest) => string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => 'the request body is larger than 1 MiB: send videos as multipart uploads (`file` parts), or name them by server-side path',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (request) =>
    `unsupported media type "${String(request.headers['content-type'] ?? '').slice(0, 100)}": send application/json (or multipart/form-data where the operation takes uploads)`,
};

const KIB = (bytes: number) => `${Math.round(bytes / 1024)} KiB`;

/**
 * What Node's HTTP parser refuses before Fastify sees a request (Fastify's `clientErrorHandler`):
 * a request line and headers over the limit (431), a request not received in time (408), bytes
 * that are not HTTP (400). Written to the socket in the API's error shape, then the connection closes.
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'HEADERS_TOO_LARGE', `the request line (URL) and headers are larger than the server's limit of ${KIB(maxHeaderSize)}`]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'REQUEST_TIMEOUT', 'the request was not received in time']
        : [400, 'BAD_REQUEST', 'not a well-formed HTTP/1.1 request'];
  if (answered.has(socket)) return;
  answered.add(socket);
  const body = JSON.stringify({ error: { code, message } });
  if (!socket.writable) {
    socket.destroy(err);
    return;
  }
  // Close after the answer (FIN), reading and dropping what the client still sends: destroying a
  // socket with unread request bytes makes the kernel reset the connection, and the client may
  // lose the answer with it (seen on Node 24 and 26 with a 100 KB URL). Cut off after 2 s.
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  socket.resume();
  socket.setTimeout(2000, () => socket.destroy());
}

/** Sockets already answered by `answerClientError` (the parser may report more than one error). */
const answered = new WeakSet<Socket>();

/** URLs Fastify's router cannot take (bad percent-encoding, a parameter over its length limit): our shape, not Fastify's. */
export function answerFrameworkError(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const [status, code] = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? [414, 'URI_TOO_LONG'] : [400, err.code === 'FST_ERR_BAD_URL' ? 'BAD_URL' : 'BAD_REQUEST'];
  void reply.status(status).send({ error: { code, message: err.message } });
}

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
    } else if (err instanceof RequestRefused) {
      status = STATUS_OF_REFUSAL[err.refusal];
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
      const known = err.code === undefined ? undefined : FASTIFY_CODES[err.code];
      code = known ?? (status === 413 ? 'PAYLOAD_TOO_LARGE' : (err.code ?? 'BAD_REQUEST').replace(/^FST_/, ''));
      message = (err.code === undefined ? undefined : FASTIFY_MESSAGES[err.code]?.(request)) ?? message;
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
