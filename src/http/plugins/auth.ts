import { createHash, timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time comparison (of digests, so the lengths match and leak nothing either). */
export function keyMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** Routes anyone may call: liveness, and the API description. */
const OPEN = [/^\/health(\?|$)/, /^\/docs(\/|\?|$)/];

/**
 * With VDEDUP_API_KEY set, every route but /health and /docs needs `Authorization: Bearer <key>`.
 * HTTP Basic (any user, the key as password) is accepted too, so a browser can open the pages
 * (queue dashboard, scans list, HTML reports): pages and the dashboard ask for it on a 401.
 */
export default fp<{ apiKey: string | undefined }>(
  async (app, opts) => {
    const apiKey = opts.apiKey;
    if (apiKey === undefined) return;
  // preParsing, not onRequest: route-level onRequest hooks (the rate limiter's) run first, so
  // requests with wrong keys are counted too; a body is still not read before the key is checked.
  app.addHook('preParsing', async (request, reply, payload) => {
    if (OPEN.some((r) => r.test(request.url))) return payload;
    const header = request.headers.authorization ?? '';
    const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1];
    if (bearer !== undefined && keyMatches(bearer.trim(), apiKey)) return payload;
    const basic = /^Basic\s+(.+)$/i.exec(header)?.[1];
    const password = basic === undefined ? undefined : Buffer.from(basic, 'base64').toString('utf8').split(':').slice(1).join(':');
    if (password !== undefined && keyMatches(password, apiKey)) return payload;
    const isPage = request.url.startsWith('/admin/') || /[?&]format=html\b/.test(request.url);
    if (isPage) void reply.header('www-authenticate', 'Basic realm="vdedup"');
    const refused = new ApiError(401, 'UNAUTHORIZED', header === '' ? 'missing Authorization: Bearer <key>' : 'wrong API key');
    // Answered here rather than thrown: the dashboard's routes have bull-board's own error handler,
    // which would answer in its shape (and status) instead of { error: { code, message } }.
    void reply.status(401).send({ error: { code: refused.code, message: refused.message } });
    return reply;
  });
  },
  { name: 'vdedup-auth' },
);
