import fp from 'fastify-plugin';
import type { TSchema } from 'typebox';
import { errorResponse } from '../schemas.js';

/** The API's own routes: what the OpenAPI document describes (not the docs UI, nor the dashboard). */
const API_ROUTE = /^\/(v1\/|health$)/;

/** `/v1/jobs/:id` -> a RegExp matching the paths that route answers. */
function pathPattern(url: string): RegExp {
  const segments = url.split('/').map((s) => (s.startsWith(':') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${segments.join('/')}/?$`);
}

/**
 * The API says what it does (issue 17): every status an operation can answer is in the document,
 * and a method the document does not list for a path answers 405 with `Allow`. Registered before
 * the routes: as each route is added, the statuses every route of its kind can answer are added
 * to its schema (the routes list their own: 404s, 409, 422, ...):
 * - 400: unknown query parameters (strict-query) and schema validation, on every route;
 * - 401: with VDEDUP_API_KEY, on every route but /health;
 * - 413 and 415: on routes that take a body (too large; a media type they do not take);
 * - 429: on /v1 routes while the rate limit is on (routes that queue work list it themselves: QUEUE_FULL);
 * - 431: on every route (a URL and headers over Node's 16 KiB limit: app.ts answers it in our shape);
 * - 503: on /v1 routes (Redis unreachable; /health answers 503 with its own body).
 */
export default fp<{ apiKey: string | undefined; rateLimited: boolean }>(
  async (app, opts) => {
    const routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();
    app.addHook('onRoute', (route) => {
      if (!API_ROUTE.test(route.url)) return;
      const known = routes.get(route.url) ?? { pattern: pathPattern(route.url), methods: new Set<string>() };
      for (const m of [route.method].flat()) known.methods.add(m.toUpperCase());
      routes.set(route.url, known);

      const schema = (route.schema ??= {});
      const response = (schema.response ??= {}) as Record<string, TSchema>;
      const add = (status: number) => {
        response[status] ??= errorResponse(status);
      };
      add(400);
      if (opts.apiKey !== undefined && route.url !== '/health') add(401);
      if (schema.body !== undefined) {
        add(413);
        add(415);
      }
      if (route.url.startsWith('/v1/')) {
        if (opts.rateLimited) add(429);
        add(503);
      }
      add(431);
    });

    // A method the path does not take: 405 and the methods it does take (RFC 9110), not 404.
    // onRequest, before anything reads a body (Fastify would refuse a QUERY without Content-Type first).
    app.addHook('onRequest', async (request, reply) => {
      if (!request.is404) return;
      const path = request.url.split('?')[0]!;
      const allowed = new Set<string>();
      for (const r of routes.values()) if (r.pattern.test(path)) for (const m of r.methods) allowed.add(m);
      if (allowed.size === 0) return;
      const allow = [...allowed].join(', ');
      void reply.header('allow', allow);
      return reply.status(405).send({ error: { code: 'METHOD_NOT_ALLOWED', message: `${request.method} is not allowed on ${path} (allowed: ${allow})` } });
    });

    // Bodies are JSON, or multipart/form-data where a route takes uploads: anything else is 415
    // (Fastify would otherwise parse text/plain and hand the route a string).
    app.removeContentTypeParser(['text/plain']);
  },
  { name: 'vdedup-contract' },
);
