import fp from 'fastify-plugin';
import { Type, type TSchema } from 'typebox';

/**
 * Requests say what they mean: on the API's own routes (/v1/..., /health) a query parameter the
 * route does not define answers 400 (VALIDATION), instead of being ignored (`POST /v1/check?
 * collection=x` must not check against the default collection). Registered before the routes:
 * it closes each route's querystring schema as the route is added.
 */
export default fp(
  async (app) => {
    app.addHook('onRoute', (route) => {
      if (!/^\/(v1\/|health$)/.test(route.url)) return;
      const schema = (route.schema ??= {});
      const query = schema.querystring as (TSchema & { additionalProperties?: unknown }) | undefined;
      // A copy that keeps TypeBox's (non-enumerable) kind, by which query values are read as their types.
      const closed = query === undefined ? Type.Object({}) : Object.defineProperties({}, Object.getOwnPropertyDescriptors(query));
      schema.querystring = Object.assign(closed, { additionalProperties: false });
    });
  },
  { name: 'vdedup-strict-query' },
);
