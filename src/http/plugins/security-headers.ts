import fp from 'fastify-plugin';

/** Headers every answer carries; pages get a CSP that allows only their own inline code and images. */
const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};
const CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** Swagger UI and bull-board load their own scripts and styles: they keep their defaults. */
const OWN_ASSETS = /^\/(docs|admin)(\/|\?|$)/;

/** Every answer: its request id, the security headers, and a strict CSP outside the docs and dashboard. */
export default fp(
  async (app) => {
    app.addHook('onSend', async (request, reply) => {
      reply.header('x-request-id', request.id);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
      if (!OWN_ASSETS.test(request.url)) reply.header('content-security-policy', CSP);
    });
  },
  { name: 'vdedup-security-headers' },
);
