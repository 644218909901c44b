import fp from 'fastify-plugin';

/** Browser access from VDEDUP_CORS_ORIGINS (none: CORS off, the plugin is not even loaded). */
export default fp<{ origins: string[] }>(
  async (app, opts) => {
    if (opts.origins.length === 0) return;
    const { default: cors } = await import('@fastify/cors');
    await app.register(cors, {
      origin: opts.origins,
      allowedHeaders: ['authorization', 'content-type'],
      exposedHeaders: ['x-request-id', 'retry-after'],
    });
  },
  { name: 'vdedup-cors' },
);
