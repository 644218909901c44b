import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { Accepted, ErrorBody, JobView } from '../schemas.js';

/** `exclusiveMinimum: n` -> `minimum: n, exclusiveMinimum: true` (and the same for maximum), everywhere in the document. */
export function openapi30Bounds<T>(node: T): T {
  if (Array.isArray(node)) return node.map(openapi30Bounds) as T;
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if ((k === 'exclusiveMinimum' || k === 'exclusiveMaximum') && typeof v === 'number') {
      out[k === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = v;
      out[k] = true;
    } else out[k] = openapi30Bounds(v);
  }
  return out as T;
}

/** The OpenAPI 3 document (/docs/json), built from the routes' TypeBox schemas, and its UI (/docs). */
export default fp<{ version: string; apiKey: string | undefined }>(
  async (app, opts) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'vdedup',
          version: opts.version,
          description:
            'Video near-duplicate checks against indexed collections, decontamination scans, and frame extraction. Long work is queued (BullMQ); answers carry a job or scan id to poll. Query parameters, JSON members and multipart fields a route does not define answer 400.',
        },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'VDEDUP_API_KEY, when the service sets one' } } },
        security: opts.apiKey === undefined ? [] : [{ bearer: [] }],
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
      // Bodies that are JSON or multipart (schemas.ts jsonOrMultipart): Fastify validates the JSON
      // one; the multipart one, checked by the handler as it streams the upload, is shown here.
      // OpenAPI 3.0 writes an exclusive bound as `minimum: n, exclusiveMinimum: true` (JSON Schema
      // draft 6 and later, which the server validates with, as `exclusiveMinimum: n`).
      transformObject: (documentObject) => openapi30Bounds('openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject),
      transform: ({ schema, url }) => {
        const body = (schema as { body?: { content?: Record<string, unknown>; multipart?: unknown } } | undefined)?.body;
        if (body?.multipart === undefined) return { schema, url };
        return { schema: { ...schema, body: { content: { ...body.content, 'multipart/form-data': { schema: body.multipart } } } }, url };
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    for (const s of [ErrorBody, JobView, Accepted]) app.addSchema(s);
  },
  { name: 'vdedup-openapi' },
);
