import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { startWorkers, type RunningWorkers } from '../../src/worker/worker.js';
import { redactUrl } from '../../src/config/service.js';
import { ffmpeg } from '../helpers/ffmpeg.js';
import { badInput, clip } from '../helpers/paths.js';
import { formBody, jsonBody, testEnv, videoForm } from '../helpers/service.js';

const SOF0 = Buffer.from([0xff, 0xc0]);
const json = jsonBody;

async function upload(app: FastifyInstance, url: string, file: string, fields: Record<string, string> = {}, name?: string) {
  return app.inject({ method: 'POST', url, ...(await formBody(await videoForm(file, fields, name))) });
}

/** Issue 8 over HTTP: hostile and broken inputs, limits, headers, logs. Real Redis, workers in this process. */
describe('service hardening', () => {
  let t: Awaited<ReturnType<typeof testEnv>>;
  let app: FastifyInstance;
  let workers: RunningWorkers;
  let media: string;

  beforeAll(async () => {
    t = await testEnv();
    media = path.join(t.config.dataDir, 'media');
    await mkdir(media, { recursive: true });
    app = await buildApp(t.config, { logger: false });
    workers = await startWorkers(t.config, pino({ level: 'silent' }));
    const added = await app.inject({ method: 'POST', url: '/v1/collections/bench/videos?wait=60', ...json({ path: 'scan/bench/testsrc2.mp4', id: 'testsrc2.mp4' }) });
    expect(added.statusCode).toBe(200);

    await writeFile(path.join(media, 'random.mp4'), randomBytes(200_000));
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x64', '-frames:v', '1', path.join(media, 'image.png')]);
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25,trim=duration=2', '-c:v', 'libx264', '-t', '0', path.join(media, 'no-frames.mp4')]).catch(() => undefined);
    // Tries to make ffmpeg read a local file (and print it into a frame or an error message).
    await writeFile(path.join(media, 'secret.txt'), 'TOP-SECRET-CONTENT-42\n');
    const src = 'testsrc2=size=320x240:rate=25';
    await ffmpeg(['-f', 'lavfi', '-i', `${src},trim=duration=4`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p10le', path.join(media, '10bit.mp4')]);
    await ffmpeg(['-f', 'lavfi', '-i', `${src},scale=321:241,trim=duration=4`, '-c:v', 'libx264', '-pix_fmt', 'yuv444p', path.join(media, 'odd-size.mkv')]);
    await ffmpeg(['-i', clip('testsrc2.mp4'), '-t', '4', '-c', 'copy', '-metadata:s:v:0', 'rotate=90', path.join(media, 'rotated.mp4')]);
    await ffmpeg(['-f', 'lavfi', '-i', `${src},trim=duration=6,setpts='N/25/TB+0.03*sin(N)/TB'`, '-fps_mode', 'vfr', '-c:v', 'libx264', path.join(media, 'vfr.mp4')]);
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x64:rate=5', '-t', '3', '-c:v', 'mjpeg', path.join(media, 'small.avi')]);
    const avi = await readFile(path.join(media, 'small.avi'));
    for (let i = avi.indexOf(SOF0); i >= 0; i = avi.indexOf(SOF0, i + 2)) {
      avi.writeUInt16BE(60000, i + 5);
      avi.writeUInt16BE(60000, i + 7);
    }
    await writeFile(path.join(media, 'huge-dims.avi'), avi);
    await writeFile(path.join(media, 'playlist.mp4'), `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://${path.join(media, 'secret.txt')}\n#EXTINF:10,\nfile://${clip('testsrc2.mp4')}\n#EXT-X-ENDLIST\n`);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await workers?.close(5000);
    await t?.cleanup();
  });

  it.each([
    ['zero-byte.mp4', () => badInput('zero-byte.mp4'), 'EMPTY_FILE'],
    ['random bytes named .mp4', () => path.join(media, 'random.mp4'), 'INVALID_MEDIA'],
    ['text named .mp4', () => badInput('text.mp4'), 'INVALID_MEDIA'],
    ['an image', () => path.join(media, 'image.png'), 'INVALID_MEDIA'],
    ['audio only', () => badInput('audio-only.m4a'), 'NO_VIDEO_STREAM'],
    ['truncated', () => badInput('truncated.mp4'), 'TRUNCATED_MEDIA'],
    ['a playlist that names a local file', () => path.join(media, 'playlist.mp4'), 'INVALID_MEDIA'],
    ['a video with no frames', () => path.join(media, 'no-frames.mp4'), 'NO_VIDEO_STREAM'],
    ['absurd dimensions in the header (60000x60000)', () => path.join(media, 'huge-dims.avi'), 'INVALID_MEDIA'],
  ])('upload of %s: 422 with a clear reason, nothing queued, no file left', async (_label, file, code) => {
    for (const url of ['/v1/check?wait=30', '/v1/frames?wait=30']) {
      const res = await upload(app, url, file(), url.startsWith('/v1/check') ? { collection: 'bench' } : { count: '2' });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(422);
      const { error } = res.json();
      expect(error.code).toBe(code);
      expect(error.message).toContain(path.basename(file()));
      // The client's file name, never where the server keeps uploads, nor any file content.
      expect(error.message).not.toContain(t.config.dataDir);
      expect(res.body).not.toContain('TOP-SECRET');
    }
    const added = await upload(app, '/v1/collections/bench/videos?wait=30', file());
    const body = added.json();
    if (body.rejected.length > 0) {
      // Refused by the API's probe, before any job.
      expect(added.statusCode).toBe(202);
      expect(body.rejected).toEqual([expect.objectContaining({ code })]);
    } else {
      // Headers that probe fine (absurd dimensions): the worker's decode refuses it, once.
      expect(added.statusCode).toBe(200);
      expect(body.jobs[0]).toMatchObject({ state: 'failed', attemptsMade: 1, error: { code } });
    }
    expect(await readdir(path.join(t.config.dataDir, 'uploads'))).toEqual([]);
  });

  it('a video that probes fine but breaks off while decoding fails in the worker: 422 with ?wait, the worker carries on', async () => {
    const res = await upload(app, '/v1/check?wait=30', badInput('truncated-faststart.mp4'), { collection: 'bench' });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('TRUNCATED_MEDIA');
    expect(res.json().error.message).toMatch(/^truncated-faststart\.mp4: .*decoded \d+ of \d+ expected frames/);
    expect(res.json().error.message).not.toContain(t.config.dataDir);
    const ok = await upload(app, '/v1/check?wait=30', clip('testsrc2.mp4'), { collection: 'bench' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().result.matched).toBe(true);
    expect(await readdir(path.join(t.config.dataDir, 'uploads'))).toEqual([]);
  });

  it.each(['10bit.mp4', 'odd-size.mkv', 'rotated.mp4', 'vfr.mp4'])('unusual but valid upload %s: checked (200), frames extracted', async (name) => {
    const check = await upload(app, '/v1/check?wait=30', path.join(media, name), { collection: 'bench' });
    expect(check.statusCode, check.body).toBe(200);
    expect(check.json().state).toBe('completed');
    const frames = await upload(app, '/v1/frames?wait=30', path.join(media, name), { count: '2' });
    expect(frames.statusCode, frames.body).toBe(200);
    expect(frames.json().state, frames.body).toBe('completed');
    expect(frames.json().result.frames).toHaveLength(2);
  });

  it('a very long unicode file name works and is reported as sent', async () => {
    const name = `${'ünïcødé-名前-'.repeat(12)}.mp4`;
    const res = await upload(app, '/v1/check?wait=30', clip('life.mp4'), { collection: 'bench' }, name);
    expect(res.statusCode).toBe(200);
    expect(res.json().result.video.name).toBe(name);
  });

  it('backpressure: past VDEDUP_MAX_QUEUE_DEPTH waiting jobs, 429 QUEUE_FULL with Retry-After', async () => {
    // Its own prefix and no worker: jobs stay waiting.
    const idle = await testEnv({ VDEDUP_MAX_QUEUE_DEPTH: '2' });
    const local = await buildApp(idle.config, { logger: false });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await local.inject({ method: 'POST', url: '/v1/frames', ...json({ path: 'clips/testsrc2.mp4', count: 2 }) })).statusCode);
      expect(statuses).toEqual([202, 202, 429]);
      const full = await local.inject({ method: 'POST', url: '/v1/frames', ...json({ path: 'clips/testsrc2.mp4', count: 2 }) });
      expect(full.json().error.code).toBe('QUEUE_FULL');
      expect(full.headers['retry-after']).toBe('30');
    } finally {
      await local.close();
      await idle.cleanup();
    }
  });

  it('rate limit per key (and per address for everything else), shared by API processes, /health exempt', async () => {
    const config = { ...t.config, prefix: `${t.config.prefix}-rl`, apiKey: 'k3y', rateLimitPerMinute: 3 };
    const local = await buildApp(config, { logger: false });
    const other = await buildApp(config, { logger: false });
    try {
      const withKey = { authorization: 'Bearer k3y' };
      // Both connected to Redis first (/health waits for it and is not counted): a request that
      // meets a connection still coming up is let through uncounted (skipOnError), by design.
      for (const api of [local, other]) expect((await api.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      const ok = [];
      // Two API processes on one Redis: the budget is the key's, whichever process answers.
      for (const api of [local, other, local, other]) ok.push((await api.inject({ method: 'GET', url: '/v1/collections', headers: withKey })).statusCode);
      expect(ok).toEqual([200, 200, 200, 429]);
      const limited = await local.inject({ method: 'GET', url: '/v1/collections', headers: withKey });
      expect(limited.json().error.code).toBe('RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // Guessing keys is limited per address, separately from the key's budget.
      const guesses = [];
      for (let i = 0; i < 4; i++) guesses.push((await local.inject({ method: 'GET', url: '/v1/collections', headers: { authorization: `Bearer guess${i}` } })).statusCode);
      expect(guesses).toEqual([401, 401, 401, 429]);
      for (let i = 0; i < 5; i++) expect((await local.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      await Promise.all([local.close(), other.close()]);
    }
  });

  it('security headers on every answer; CORS off unless VDEDUP_CORS_ORIGINS names the origin', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/collections', headers: { origin: 'https://evil.example' } });
    expect(res.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' });
    expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const local = await buildApp({ ...t.config, corsOrigins: ['https://ui.example'] }, { logger: false });
    try {
      const preflight = await local.inject({
        method: 'OPTIONS',
        url: '/v1/check',
        headers: { origin: 'https://ui.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
      expect(preflight.headers['access-control-allow-origin']).toBe('https://ui.example');
      const other = await local.inject({ method: 'GET', url: '/v1/collections', headers: { origin: 'https://evil.example' } });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await local.close();
    }
  });

  it('every error answers { error: { code, message } }: long names and URLs, other methods and media types, large bodies, the dashboard', async () => {
    const shaped = (res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, code: string) => {
      expect(res.statusCode, res.body.slice(0, 200)).toBe(status);
      expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
      expect(JSON.parse(res.body)).toEqual({ error: { code, message: expect.any(String) } });
    };
    // A 5,000-character collection name reaches the route (not Fastify's own 414) and fails its pattern.
    shaped(await app.inject({ method: 'GET', url: `/v1/collections/${'a'.repeat(5000)}` }), 400, 'VALIDATION');
    shaped(await app.inject({ method: 'DELETE', url: `/v1/collections/${'a'.repeat(5000)}/videos/x` }), 400, 'VALIDATION');
    // A path that is not valid percent-encoding, and a parameter past the router's limit (Fastify's own bodies otherwise).
    shaped(await app.inject({ method: 'GET', url: '/v1/jobs/%zz' }), 400, 'BAD_URL');
    // Over 16 KiB a parameter is past the router's limit (Node refuses such a request line first, 431
    // below; inject() does not): Fastify's 414, in our shape.
    shaped(await app.inject({ method: 'GET', url: `/v1/jobs/${'a'.repeat(20_000)}` }), 414, 'URI_TOO_LONG');
    // A method the path does not take: 405 with Allow (before any body is read, so QUERY too), not 404.
    const trace = await app.inject({ method: 'TRACE', url: '/v1/check' });
    shaped(trace, 405, 'METHOD_NOT_ALLOWED');
    expect(trace.headers.allow).toBe('POST');
    const query = await app.inject({ method: 'QUERY', url: '/v1/jobs/abc' });
    shaped(query, 405, 'METHOD_NOT_ALLOWED');
    expect(query.headers.allow).toBe('GET, HEAD');
    expect((await app.inject({ method: 'GET', url: '/v1/nothing' })).statusCode).toBe(404);
    // Bodies: a media type the route does not take is 415; a JSON body over 1 MiB is 413 BODY_TOO_LARGE (FILE_TOO_LARGE is for uploads).
    shaped(await app.inject({ method: 'POST', url: '/v1/check', headers: { 'content-type': 'text/plain' }, payload: 'clips/testsrc2.mp4' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    shaped(await app.inject({ method: 'POST', url: '/v1/scans', headers: { 'content-type': 'application/xml' }, payload: '<a/>' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const big = await app.inject({ method: 'POST', url: '/v1/check', ...json({ path: 'x'.repeat(2 * 1024 * 1024) }) });
    shaped(big, 413, 'BODY_TOO_LARGE');
    expect(big.json().error.message).toMatch(/1 MiB/);
    // Query strings are read as their declared types, and only then (limit=true is not 1); JSON is taken as sent.
    shaped(await app.inject({ method: 'GET', url: '/v1/scans?limit=true' }), 400, 'VALIDATION');
    shaped(await app.inject({ method: 'GET', url: '/v1/scans?limit=501' }), 400, 'VALIDATION');
    shaped(await app.inject({ method: 'GET', url: '/v1/jobs/frames.x/frames/-1' }), 400, 'VALIDATION');
    shaped(await app.inject({ method: 'GET', url: '/v1/scans/scan.x/report?format=pdf' }), 400, 'VALIDATION');
    shaped(await app.inject({ method: 'POST', url: '/v1/scans', ...json({ train: 'scan/train', bench: 'scan/bench', exact: null }) }), 400, 'VALIDATION');
    // The dashboard's routes have bull-board's error handler: a missing key still answers in the API's shape.
    const keyed = await buildApp({ ...t.config, apiKey: 'dash-key' }, { logger: false });
    try {
      for (const url of ['/admin/queues', '/admin/queues/api/queues']) {
        const res = await keyed.inject({ method: 'GET', url });
        shaped(res, 401, 'UNAUTHORIZED');
        expect(res.headers['www-authenticate']).toMatch(/^Basic/);
      }
    } finally {
      await keyed.close();
    }
  });

  it('a URL too long for Node\'s HTTP parser answers 431 in the API\'s shape, over a real socket', async () => {
    const server = await buildApp(t.config, { logger: false });
    try {
      await server.listen({ port: 0, host: '127.0.0.1' });
      const { port } = server.server.address() as net.AddressInfo;
      const raw = (request: string) =>
        new Promise<string>((resolve, reject) => {
          let out = '';
          const socket = net.connect(port, '127.0.0.1', () => socket.end(request));
          socket.setEncoding('utf8').on('data', (d: string) => (out += d));
          socket.on('close', () => resolve(out)).on('error', reject);
        });
      const answer = await raw(`GET /v1/collections/${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      const [head, body] = answer.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 431 /);
      expect(head).toMatch(/content-type: application\/json/i);
      expect(JSON.parse(body!)).toEqual({ error: { code: 'HEADERS_TOO_LARGE', message: expect.stringMatching(/KiB/) } });
      const garbage = await raw('NOT HTTP AT ALL\r\n\r\n');
      expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
      expect(JSON.parse(garbage.split('\r\n\r\n')[1]!).error.code).toBe('BAD_REQUEST');
    } finally {
      await server.close();
    }
  });

  it('logs carry request ids but never the API key or Redis credentials', async () => {
    let logs = '';
    const stream = new Writable({
      write(chunk, _enc, done) {
        logs += String(chunk);
        done();
      },
    });
    const key = 'super-secret-api-key-123';
    // Request lines are logged at info (the test config logs warnings only).
    const local = await buildApp({ ...t.config, apiKey: key, logLevel: 'info' }, { logStream: stream });
    try {
      await local.inject({ method: 'GET', url: '/v1/collections', headers: { authorization: `Bearer ${key}` } });
      await local.inject({ method: 'GET', url: '/v1/collections', headers: { authorization: `Bearer ${key}x` } });
      await local.inject({ method: 'GET', url: `/v1/jobs/check.x?token=1`, headers: { authorization: `Basic ${Buffer.from(`u:${key}`).toString('base64')}` } });
      // A key in the query string is refused (401), and masked in the log.
      expect((await local.inject({ method: 'GET', url: `/v1/collections?api_key=${key}` })).statusCode).toBe(401);
      expect(logs).toMatch(/"reqId"/);
      expect(logs).toContain('api_key=***');
      expect(logs).not.toContain(key);
      expect(logs).not.toContain(Buffer.from(`u:${key}`).toString('base64'));
    } finally {
      await local.close();
    }
    expect(redactUrl('redis://user:hunter2@redis.internal:6379/0')).toBe('redis://***@redis.internal:6379/0');
  });

  it('a job that runs past VDEDUP_JOB_TIMEOUT_SECONDS is stopped and failed with the reason, not retried', async () => {
    const slow = await testEnv();
    const config = { ...slow.config, jobTimeoutMs: 20 };
    const local = await buildApp(config, { logger: false });
    const limitedWorkers = await startWorkers(config, pino({ level: 'silent' }), ['frames']);
    try {
      const res = await local.inject({ method: 'POST', url: '/v1/frames?wait=30', ...json({ path: 'scan/bench/mandelbrot-zoom.mp4', fps: 2 }) });
      expect(res.statusCode).toBe(422);
      expect(res.json().error.code).toBe('TIMEOUT');
      expect(res.json().error.message).toMatch(/VDEDUP_JOB_TIMEOUT_SECONDS/);
      const jobId = /job (frames\.[\w-]+)/.exec(res.json().error.message)![1]!;
      expect((await local.inject({ method: 'GET', url: `/v1/jobs/${jobId}` })).json().attemptsMade).toBe(1);
    } finally {
      await local.close();
      await limitedWorkers.close(5000);
      await slow.cleanup();
    }
  });
});

