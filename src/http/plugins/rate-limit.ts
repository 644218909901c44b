import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { keyMatches } from './auth.js';
import { ApiError } from '../errors.js';

/**
 * VDEDUP_RATE_LIMIT requests per minute, registered before auth so key guessing is limited too:
 * requests with the right key count per key, everything else per client address. Counted in
 * Redis, so API processes behind one load balancer share the budget; while Redis is down nothing is
 * counted (every route that does work answers 503 then anyway).
 */
export default fp<{ perMinute: number; apiKey: string | undefined; redis: Redis; prefix: string }>(
  async (app, opts) => {
    if (opts.perMinute <= 0) return;
    const { default: rateLimit } = await import('@fastify/rate-limit');
    await app.register(rateLimit, {
      max: opts.perMinute,
      timeWindow: 60_000,
      redis: opts.redis,
      nameSpace: `${opts.prefix}:ratelimit:`,
      skipOnError: true,
      allowList: (request) => /^\/(health|docs)(\/|\?|$)/.test(request.url),
      keyGenerator: (request) => {
        const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1]?.trim();
        return opts.apiKey !== undefined && bearer !== undefined && keyMatches(bearer, opts.apiKey) ? 'key' : `ip:${request.ip}`;
      },
      errorResponseBuilder: (_request, c) =>
        new ApiError(429, 'RATE_LIMITED', `more than ${c.max} requests per minute (VDEDUP_RATE_LIMIT); retry in ${Math.ceil(c.ttl / 1000)} s`),
    });
  },
  { name: 'vdedup-rate-limit' },
);
