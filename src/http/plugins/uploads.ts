import multipart from '@fastify/multipart';
import fp from 'fastify-plugin';

/**
 * Multipart uploads, capped at VDEDUP_MAX_UPLOAD_BYTES per file. Bodies are streamed to disk by the
 * route handlers (http/inputs.ts receiveVideos), not parsed up front: the JSON body schema then
 * sees an empty object, and the handler checks the multipart fields itself.
 */
export default fp<{ maxUploadBytes: number }>(
  async (app, opts) => {
    await app.register(multipart, { limits: { fileSize: opts.maxUploadBytes } });
    app.addHook('preValidation', async (request) => {
      if (request.isMultipart() && request.body === undefined) request.body = {};
    });
  },
  { name: 'vdedup-uploads' },
);
