import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { Accepted, ErrorBody, JobView } from '../schemas.js';

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
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    for (const s of [ErrorBody, JobView, Accepted]) app.addSchema(s);
  },
  { name: 'vdedup-openapi' },
);
