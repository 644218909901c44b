import { copyFile, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ffmpegBinary } from '../../src/media/binaries.js';
import { ffmpeg, withTempDir } from '../helpers/ffmpeg.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { startWorkers, type RunningWorkers } from '../../src/worker/worker.js';
import { loadConfig } from '../../src/config/service.js';
import { repoRoot } from '../helpers/paths.js';
import { encodeBeforeInner } from '../helpers/old-fingerprint.js';
import { decodeFingerprint } from '../../src/fingerprint/store.js';
import { earlierKeys } from '../../src/fingerprint/cached.js';

const fixturesDir = path.join(repoRoot, 'fixtures');

/** rgb24 md5 of every frame a full decode of the first video stream gives (ffmpeg's framemd5). */
async function decodedFrameMd5s(file: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)(ffmpegBinary().path, ['-v', 'error', '-i', file, '-map', '0:v:0', '-fps_mode', 'passthrough', '-pix_fmt', 'rgb24', '-f', 'framemd5', '-'], { maxBuffer: 64 << 20 });
  return stdout.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(',').at(-1)!.trim());
}
import { snapshot, touchVideo, writeParquet } from '../helpers/fake-hf.js';
import { formBody, freePort, jsonBody, scanWhenDone, startRedis, testEnv, videoForm } from '../helpers/service.js';

const json = jsonBody;

describe('HTTP routes (app.inject, real Redis, workers in this process)', () => {
  let t: Awaited<ReturnType<typeof testEnv>>;
  let app: FastifyInstance;
  let workers: RunningWorkers;
  let redis: Redis;

  beforeAll(async () => {
    t = await testEnv();
    redis = new Redis(t.config.redisUrl);
    app = await buildApp(t.config, { logger: false });
    workers = await startWorkers(t.config, pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await app?.close();
    await workers?.close(5000);
    redis?.disconnect();
    await t?.cleanup();
  });

  it('serves an OpenAPI 3 document that validates, and the docs UI', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.0.3');
    await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeTruthy();
    const ui = await app.inject({ method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(ui.statusCode);
  });

  it('the document lists every status each operation can answer, both media types of pages, and what requests must be', async () => {
    const keyed = await buildApp({ ...t.config, apiKey: 'doc-key' }, { logger: false });
    try {
      type Op = { responses: Record<string, { content?: Record<string, unknown> }>; parameters?: Array<{ name: string; in: string; schema: Record<string, unknown> }>; requestBody?: { content: Record<string, { schema: { required?: string[] } }> } };
      const doc = (await keyed.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, Op>> };
      await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
      for (const [p, methods] of Object.entries(doc.paths)) {
        for (const [m, op] of Object.entries(methods)) {
          const statuses = Object.keys(op.responses);
          const label = `${m.toUpperCase()} ${p}`;
          // Unknown query parameters and schema violations (400); a URL and headers over 16 KiB (431).
          expect(statuses, label).toEqual(expect.arrayContaining(['400', '431']));
          if (p !== '/health') expect(statuses, label).toEqual(expect.arrayContaining(['401', '429', '503']));
          if (op.requestBody !== undefined) expect(statuses, label).toEqual(expect.arrayContaining(['413', '415']));
          for (const param of op.parameters ?? []) {
            if (param.name === 'name' && param.in === 'path') expect(param.schema, label).toMatchObject({ pattern: '^[A-Za-z0-9_-]{1,64}$', minLength: 1, maxLength: 64 });
          }
        }
      }
      expect(Object.keys(doc.paths['/health']!.get!.responses).sort()).toEqual(['200', '400', '431', '503']);
      for (const op of ['/v1/check', '/v1/frames', '/v1/collections/{name}/videos', '/v1/scans']) expect(Object.keys(doc.paths[op]!.post!.responses), op).toContain('429');
      expect(Object.keys(doc.paths['/v1/frames']!.post!.responses)).toContain('422');
      expect(Object.keys(doc.paths['/v1/scans']!.get!.responses['200']!.content!).sort()).toEqual(['application/json', 'text/html']);
      expect(Object.keys(doc.paths['/v1/scans/{id}/report']!.get!.responses['200']!.content!).sort()).toEqual(['application/json', 'text/csv', 'text/html']);
      expect(Object.keys(doc.paths['/v1/jobs/{id}/frames/{n}']!.get!.responses['200']!.content!).sort()).toEqual(['image/jpeg', 'image/png', 'image/webp']);
      // JSON names a server-side path; multipart carries the file: each required where it is.
      const check = doc.paths['/v1/check']!.post!.requestBody!.content;
      expect(check['application/json']!.schema.required).toEqual(['path']);
      expect(check['multipart/form-data']!.schema.required).toEqual(['file']);
      expect(doc.paths['/v1/scans']!.post!.requestBody!.content['application/json']!.schema).toMatchObject({
        properties: { train: { minLength: 1 }, bench: { minLength: 1 } },
      });
    } finally {
      await keyed.close();
    }
  });

  it('GET /health reports Redis, the ffmpeg binary in use, the native module and queue depths', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe('ok');
    expect(body.redis.ok).toBe(true);
    expect(body.ffmpeg.path).toMatch(/ffmpeg/);
    expect(body.ffmpeg.source).toBeTruthy();
    expect(body.native.detail).toMatch(/^vdedup-core \S+, frame scan (avx512|avx2|portable)$/);
    expect(Object.keys(body.queues)).toEqual(['fingerprint', 'check', 'scan', 'frames']);
    expect(body.limits).toMatchObject({ ffmpegMemory: '4096 MiB (prlimit)', jobTimeoutSeconds: 21600, maxQueueDepth: 10000, rateLimitPerMinute: 600 });
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('builds a collection from a directory, lists it, and checks videos against it', async () => {
    const add = await app.inject({ method: 'POST', url: '/v1/collections/bench/videos?wait=60', ...json({ source: 'scan/bench' }) });
    expect(add.statusCode).toBe(200);
    const added = add.json();
    expect(added.queued.map((q: { id: string }) => q.id).sort()).toEqual(['mandelbrot-zoom.mp4', 'testsrc2.mp4', 'v_Ab3dE_fG9hK.mp4']);
    expect(added.jobs.every((j: { state: string }) => j.state === 'completed')).toBe(true);

    const list = await app.inject({ method: 'GET', url: '/v1/collections' });
    expect(list.json().collections).toEqual([{ name: 'bench', videos: 3, version: 3 }]);
    const one = await app.inject({ method: 'GET', url: '/v1/collections/bench' });
    expect(one.json().videos.find((v: { id: string }) => v.id === 'mandelbrot-zoom.mp4')).toMatchObject({ duration: 36, frames: 36, path: path.join(fixturesDir, 'scan/bench/mandelbrot-zoom.mp4') });
    expect(one.json().videos.find((v: { id: string }) => v.id === 'v_Ab3dE_fG9hK.mp4')).toMatchObject({ youtubeId: 'Ab3dE_fG9hK', youtubeIdSource: 'file name' });

    // Adding the same video again joins the finished job: no second decode.
    const again = await app.inject({ method: 'POST', url: '/v1/collections/bench/videos', ...json({ path: 'scan/bench/testsrc2.mp4', id: 'testsrc2.mp4' }) });
    expect(again.statusCode).toBe(202);
    expect(again.json().queued[0]).toMatchObject({ jobId: added.queued.find((q: { id: string }) => q.id === 'testsrc2.mp4').jobId, state: 'completed' });

    const check = await app.inject({ method: 'POST', url: '/v1/check?wait=60', ...json({ path: 'scan/train/compilation.mp4', collection: 'bench' }) });
    expect(check.statusCode).toBe(200);
    const result = check.json().result;
    expect(result.matched).toBe(true);
    expect(result.matches[0]).toMatchObject({ bench: 'mandelbrot-zoom.mp4', reason: 'near-duplicate', trainStart: 10, trainEnd: 34, benchStart: 6, benchEnd: 30 });
    expect(result.matches[0].evidence.distances).toHaveLength(20);

    const unrelated = await app.inject({ method: 'POST', url: '/v1/check?wait=60', ...json({ path: 'scan/train/unrelated-life.mp4', collection: 'bench' }) });
    expect(unrelated.json().result).toMatchObject({ matched: false, matches: [] });

    const status = await app.inject({ method: 'GET', url: `/v1/jobs/${check.json().jobId}` });
    expect(status.json()).toMatchObject({ state: 'completed', queue: 'check', attemptsMade: 1 });

    const missing = await app.inject({ method: 'POST', url: '/v1/check', ...json({ path: 'scan/train/compilation.mp4', collection: 'nope' }) });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('COLLECTION_NOT_FOUND');
    expect((await app.inject({ method: 'GET', url: '/v1/collections/nope' })).statusCode).toBe(404);
    // The document's pattern for collection names, checked as the document says.
    expect((await app.inject({ method: 'GET', url: '/v1/collections/bad%20name!' })).json().error.code).toBe('VALIDATION');
  });

  it('builds a collection from an LMMs-Eval benchmark found under HF_HOME ({ "benchmark": "videomme" })', async () => {
    const hf = path.join(t.config.dataDir, 'hf');
    const ids = ['dQw4w9WgXcQ', 'kJQP7kiw5Fk', '9bZkp7q19f0'];
    await writeParquet(path.join(snapshot(hf, 'lmms-eval/Video-MME'), 'videomme', 'test-00000-of-00001.parquet'), { video_id: ['001', '002', '003'], videoID: ids });
    await touchVideo(path.join(hf, 'videomme', 'data', `${ids[0]}.mp4`), path.join(fixturesDir, 'scan/bench/mandelbrot-zoom.mp4'));
    await touchVideo(path.join(hf, 'videomme', 'data', `${ids[1]}.mp4`), path.join(fixturesDir, 'scan/bench/testsrc2.mp4'));
    const saved = process.env.HF_HOME;
    process.env.HF_HOME = hf;
    try {
      const res = await app.inject({ method: 'POST', url: '/v1/collections/videomme/videos?wait=60', ...json({ benchmark: 'videomme' }) });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.queued.map((q: { id: string }) => q.id).sort()).toEqual([`videomme:data/${ids[0]}.mp4`, `videomme:data/${ids[1]}.mp4`].sort());
      expect(body.jobs.map((j: { state: string }) => j.state)).toEqual(['completed', 'completed']);
      // One video the metadata names is not on disk: said, not hidden.
      expect(body.warnings.join('\n')).toMatch(/videomme/);
      const check = await app.inject({ method: 'POST', url: '/v1/check?wait=60', ...json({ path: 'scan/train/compilation.mp4', collection: 'videomme' }) });
      expect(check.json().result.matches[0]).toMatchObject({ bench: `videomme:data/${ids[0]}.mp4`, trainStart: 10, trainEnd: 34 });
      const both = await app.inject({ method: 'POST', url: '/v1/collections/videomme/videos', ...json({ benchmark: 'videomme', source: 'scan/bench' }) });
      expect(both.statusCode).toBe(400);
      const unknown = await app.inject({ method: 'POST', url: '/v1/collections/x/videos', ...json({ benchmark: 'no-such-benchmark' }) });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().error).toMatchObject({ code: 'BENCHMARK_NOT_FOUND', message: expect.stringMatching(/no-such-benchmark/) });
    } finally {
      if (saved === undefined) delete process.env.HF_HOME;
      else process.env.HF_HOME = saved;
    }
  });

  it('a video that is not one is rejected up front; one that breaks off while decoding fails its job, without retries', async () => {
    const dir = path.join(t.config.dataDir, 'roots');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'junk.mp4'), Buffer.alloc(4096, 7));
    await copyFile(path.join(fixturesDir, 'bad', 'truncated-faststart.mp4'), path.join(dir, 'truncated.mp4'));
    const cfg = { ...t.config, roots: [dir] };
    const local = await buildApp(cfg, { logger: false });
    try {
      const res = await local.inject({ method: 'POST', url: '/v1/collections/junk/videos?wait=30', ...json({ paths: ['junk.mp4', 'truncated.mp4'] }) });
      expect(res.statusCode).toBe(200);
      expect(res.json().rejected).toEqual([expect.objectContaining({ id: 'junk.mp4', code: 'INVALID_MEDIA' })]);
      const job = res.json().jobs[0];
      expect(job.state).toBe('failed');
      expect(job.attemptsMade).toBe(1);
      expect(job.error.code).toBe('TRUNCATED_MEDIA');
    } finally {
      await local.close();
    }
  });

  it('POST /v1/frames extracts decodable frames served under /v1/jobs/:id/frames/:n', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/frames?wait=60', ...json({ path: 'scan/bench/testsrc2.mp4', count: 4, format: 'png', width: 96 }) });
    expect(res.statusCode).toBe(200);
    const view = res.json();
    expect(view.state).toBe('completed');
    expect(view.result.frames.map((f: { timestamp: number }) => f.timestamp)).toEqual([0, 8.32, 16.64, 24.96]);
    for (const f of view.result.frames) {
      const img = await app.inject({ method: 'GET', url: f.url });
      expect(img.statusCode).toBe(200);
      expect(img.headers['content-type']).toBe('image/png');
      const meta = await sharp(img.rawPayload).metadata();
      expect(meta).toMatchObject({ format: 'png', width: 96 });
    }
    expect((await app.inject({ method: 'GET', url: `/v1/jobs/${view.jobId}/frames/4` })).statusCode).toBe(404);

    const ts = await app.inject({ method: 'POST', url: '/v1/frames?wait=60', ...json({ path: 'scan/bench/testsrc2.mp4', timestamps: [1, '0:00:02.5'] }) });
    expect(ts.json().result.frames.map((f: { timestamp: number }) => f.timestamp)).toEqual([1, 2.48]);

    // What the document's schema refuses (exactly one selection, ranges, types as sent): VALIDATION.
    for (const [body, code] of [
      [{ path: 'scan/bench/testsrc2.mp4' }, 'VALIDATION'],
      [{ path: 'scan/bench/testsrc2.mp4', fps: 1, count: 3 }, 'VALIDATION'],
      [{ path: 'scan/bench/testsrc2.mp4', count: 0 }, 'VALIDATION'],
      [{ path: 'scan/bench/testsrc2.mp4', count: 2, format: 'gif' }, 'VALIDATION'],
      [{ path: 'scan/bench/testsrc2.mp4', count: '2' }, 'VALIDATION'],
      [{ path: 'scan/bench/testsrc2.mp4', count: 2, width: 8 }, 'VALIDATION'],
      [{ path: 'scan/bench/testsrc2.mp4', timestamps: '1:75' }, 'VALIDATION'],
      [{ path: 'scan/bench/testsrc2.mp4', fps: 1, fast: true }, 'VALIDATION'],
    ] as const) {
      const bad = await app.inject({ method: 'POST', url: '/v1/frames', ...json(body) });
      expect(bad.statusCode, JSON.stringify(body)).toBe(400);
      expect(bad.json().error.code).toBe(code);
    }
    // A timestamp after the end is only known once the video is probed: the job fails with the reason.
    const late = await app.inject({ method: 'POST', url: '/v1/frames?wait=30', ...json({ path: 'scan/bench/testsrc2.mp4', timestamps: '99' }) });
    expect(late.statusCode).toBe(422);
    expect(late.json().error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/timestamp 99 s is at or after the end/) });
  });

  it('POST /v1/frames on an upload with an audio track and a video that starts after it: the decoder\'s frames, numbered from the first', async () => {
    await withTempDir(async (dir) => {
      // H.264 with B-frames and AAC in Matroska, the video 7 ms after the audio: the frames a full
      // decode gives are the reference, compared as PNG pixels (lossless) frame by frame.
      const plain = path.join(dir, 'plain.mkv');
      const upload = path.join(dir, 'late-video.mkv');
      await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '4', '-c:v', 'libx264', '-bf', '3', '-c:a', 'aac', plain]);
      await ffmpeg(['-i', plain, '-itsoffset', '0.007', '-i', plain, '-map', '1:v', '-map', '0:a', '-c', 'copy', upload]);
      const reference = await decodedFrameMd5s(upload);
      expect(reference).toHaveLength(100);
      const res = await app.inject({ method: 'POST', url: '/v1/frames?wait=60', ...(await formBody(await videoForm(upload, { count: '8', format: 'png' }))) });
      expect(res.statusCode).toBe(200);
      const frames = res.json().result.frames as Array<{ frame: number; timestamp: number; url: string }>;
      // np.linspace(0, 99, 8, dtype=int)
      expect(frames.map((f) => f.frame)).toEqual([0, 14, 28, 42, 56, 70, 84, 99]);
      expect(frames.map((f) => f.timestamp)).toEqual([0, 0.56, 1.12, 1.68, 2.24, 2.8, 3.36, 3.96]);
      for (const f of frames) {
        const img = await app.inject({ method: 'GET', url: f.url });
        const { data } = await sharp(img.rawPayload).raw().toBuffer({ resolveWithObject: true });
        expect(createHash('md5').update(data).digest('hex'), `frame ${f.frame}`).toBe(reference[f.frame]);
      }
      // One frame per second, counted from the first frame (not from the audio's start).
      const fps = await app.inject({ method: 'POST', url: '/v1/frames?wait=60', ...(await formBody(await videoForm(upload, { fps: '1', format: 'png' }))) });
      expect(fps.json().result.frames.map((f: { frame: number }) => f.frame)).toEqual([0, 25, 50, 75]);
    });
  });

  it('runs a scan as a flow and serves its report as JSON, CSV and HTML', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/scans', ...json({ train: 'scan/train', bench: 'scan/bench' }) });
    expect(res.statusCode).toBe(202);
    const { scanId, videos } = res.json();
    expect(videos).toBe(6);
    const status = await scanWhenDone(app, scanId, 30_000);
    expect(status).toMatchObject({ state: 'completed', removed: 2, batches: { total: 1, done: 1, failed: 0, pending: 0 } });
    const report = (await app.inject({ method: 'GET', url: `/v1/scans/${scanId}/report` })).json();
    expect([...report.removed].sort()).toEqual(['Ab3dE_fG9hK.mp4', 'compilation.mp4']);
    expect(report.stats).toMatchObject({ retrieval: 'frame-scan', approximate: false });
    // The approximate prefilter, forced on a small benchmark side, reaches the engine: the same copies, and the report says how.
    const forced = await app.inject({ method: 'POST', url: '/v1/scans', ...json({ train: 'scan/train', bench: 'scan/bench', prefilter: 'on' }) });
    expect(forced.statusCode).toBe(202);
    expect((await scanWhenDone(app, forced.json().scanId, 30_000)).state).toBe('completed');
    const forcedReport = (await app.inject({ method: 'GET', url: `/v1/scans/${forced.json().scanId}/report` })).json();
    expect([...forcedReport.removed].sort()).toEqual(['Ab3dE_fG9hK.mp4', 'compilation.mp4']);
    expect(forcedReport.stats).toMatchObject({ retrieval: 'prefilter', approximate: true });
    const csv = await app.inject({ method: 'GET', url: `/v1/scans/${scanId}/report?format=csv` });
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.body.split('\n')[0]).toMatch(/^train,bench,reason/);
    const html = await app.inject({ method: 'GET', url: `/v1/scans/${scanId}/report?format=html` });
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.body).toContain('compilation.mp4');
    const listed = (await app.inject({ method: 'GET', url: '/v1/scans' })).json().scans;
    expect(listed.map((x: { scanId: string }) => x.scanId)).toContain(scanId);
    const page = await app.inject({ method: 'GET', url: '/v1/scans?format=html' });
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain(`/v1/scans/${encodeURIComponent(scanId)}/report?format=html`);
    const unknown = await app.inject({ method: 'GET', url: '/v1/scans/scan.0000/report' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('SCAN_NOT_FOUND');
    expect((await app.inject({ method: 'GET', url: '/v1/jobs/check.nothing' })).json().error.code).toBe('JOB_NOT_FOUND');
  });

  /** A collection of the three fixture benchmark videos (scan/bench), for a test of its own. */
  async function benchCollection(name: string): Promise<void> {
    const add = await app.inject({ method: 'POST', url: `/v1/collections/${name}/videos?wait=60`, ...json({ source: 'scan/bench' }) });
    expect(add.statusCode).toBe(200);
    expect(add.json().jobs.map((j: { state: string }) => j.state)).toEqual(['completed', 'completed', 'completed']);
  }

  it('scans against a collection (bench: "collection:<name>"): the same findings, benchmark side not decoded again', async () => {
    await benchCollection('scan-bench');
    const res = await app.inject({ method: 'POST', url: '/v1/scans', ...json({ train: 'scan/train', bench: 'collection:scan-bench' }) });
    expect(res.statusCode).toBe(202);
    const { scanId, videos } = res.json();
    expect(videos).toBe(3); // only the training side is fingerprinted by the flow
    const status = await scanWhenDone(app, scanId, 30_000);
    expect(status.state).toBe('completed');
    const report = (await app.inject({ method: 'GET', url: `/v1/scans/${scanId}/report` })).json();
    expect([...report.removed].sort()).toEqual(['Ab3dE_fG9hK.mp4', 'compilation.mp4']);
    expect(report.matches.find((m: { reason: string }) => m.reason === 'youtube-id')).toMatchObject({ bench: 'v_Ab3dE_fG9hK.mp4', youtubeId: 'Ab3dE_fG9hK' });
    expect(report.matches.find((m: { reason: string }) => m.reason === 'near-duplicate')).toMatchObject({ bench: 'mandelbrot-zoom.mp4', trainStart: 10, benchStart: 6 });
    expect(report.stats).toMatchObject({ benchVideos: 3 });

    expect((await app.inject({ method: 'POST', url: '/v1/scans', ...json({ train: 'scan/train', bench: 'collection:nope' }) })).json().error.code).toBe('COLLECTION_NOT_FOUND');
  });

  it('scans a collection as the training side, against paths or another collection, decoding nothing it already has', async () => {
    await benchCollection('corpus-bench');
    const add = await app.inject({ method: 'POST', url: '/v1/collections/corpus/videos?wait=60', ...json({ source: 'scan/train' }) });
    expect(add.statusCode).toBe(200);
    const expectFindings = (report: { removed: string[]; matches: Array<Record<string, unknown>> }) => {
      expect([...report.removed].sort()).toEqual(['Ab3dE_fG9hK.mp4', 'compilation.mp4']);
      expect(report.matches.find((m) => m.reason === 'youtube-id')).toMatchObject({ train: 'Ab3dE_fG9hK.mp4', bench: 'v_Ab3dE_fG9hK.mp4' });
      const nearDup = report.matches.find((m) => m.reason === 'near-duplicate');
      expect(nearDup).toMatchObject({ train: 'compilation.mp4', bench: 'mandelbrot-zoom.mp4', trainStart: 10, trainEnd: 34, benchStart: 6, benchEnd: 30 });
      // Members added from server paths keep them: the HTML report shows their frames.
      expect(nearDup).toMatchObject({ trainPath: path.join(fixturesDir, 'scan/train/compilation.mp4') });
    };
    for (const [bench, decodedByFlow] of [['scan/bench', 3], ['collection:corpus-bench', 0]] as const) {
      const res = await app.inject({ method: 'POST', url: '/v1/scans', ...json({ train: 'collection:corpus', bench }) });
      expect(res.statusCode).toBe(202);
      expect(res.json().videos).toBe(decodedByFlow);
      const status = await scanWhenDone(app, res.json().scanId, 30_000);
      expect(status).toMatchObject({ state: 'completed', train: 'collection:corpus', bench: bench.startsWith('collection:') ? bench : path.join(fixturesDir, bench) });
      const report = (await app.inject({ method: 'GET', url: `/v1/scans/${res.json().scanId}/report` })).json();
      expectFindings(report);
      expect(report.stats).toMatchObject({ trainVideos: 3, benchVideos: 3, errors: 0 });
      const html = await app.inject({ method: 'GET', url: `/v1/scans/${res.json().scanId}/report?format=html` });
      expect(html.statusCode).toBe(200);
      expect(html.body).toContain('compilation.mp4');
      expect(html.body).toContain('data:image/webp;base64,');
    }
    expect((await app.inject({ method: 'POST', url: '/v1/scans', ...json({ train: 'collection:nope', bench: 'scan/bench' }) })).json().error.code).toBe('COLLECTION_NOT_FOUND');

    // A member whose fingerprint Redis lacks (added before collections kept them) and that this
    // worker's store lacks too is decoded again from its path, and its fingerprint put back in Redis.
    const member = (await app.inject({ method: 'GET', url: '/v1/collections/corpus' })).json().videos.find((v: { id: string }) => v.id === 'compilation.mp4');
    const fingerprintsKey = `${t.config.prefix}:collection:corpus:fingerprints`;
    expect(await redis.hexists(fingerprintsKey, member.id)).toBe(1);
    await redis.hdel(fingerprintsKey, member.id);
    const entries = await readdir(path.join(t.config.dataDir, 'fingerprints'), { recursive: true });
    const entry = entries.find((e) => e.endsWith(`${member.key}.vfp`));
    expect(entry).toBeDefined();
    await rm(path.join(t.config.dataDir, 'fingerprints', entry!));
    const again = await app.inject({ method: 'POST', url: '/v1/scans', ...json({ train: 'collection:corpus', bench: 'collection:corpus-bench' }) });
    expect(await scanWhenDone(app, again.json().scanId, 30_000)).toMatchObject({ state: 'completed' });
    const rescanned = (await app.inject({ method: 'GET', url: `/v1/scans/${again.json().scanId}/report` })).json();
    expectFindings(rescanned);
    expect(rescanned.stats).toMatchObject({ decodedVideos: 1, errors: 0 });
    expect(rescanned.warnings).toEqual([]);
    expect(await redis.hexists(fingerprintsKey, member.id)).toBe(1);

    // A member an earlier version added (its key made under that version's pipeline) whose
    // fingerprint Redis lacks: its file still gives that key, so it is the same video, hashed again
    // with everything this version hashes and put back in Redis. A key its file no longer gives
    // (the file changed) leaves the member out of the scan, said so in the report.
    const membersKey = `${t.config.prefix}:collection:corpus:videos`;
    const record = JSON.parse((await redis.hget(membersKey, member.id))!);
    const rescan = async (key: string) => {
      await redis.hset(membersKey, member.id, JSON.stringify({ ...record, key }));
      await redis.hdel(fingerprintsKey, member.id);
      const res = await app.inject({ method: 'POST', url: '/v1/scans', ...json({ train: 'collection:corpus', bench: 'collection:corpus-bench' }) });
      expect(await scanWhenDone(app, res.json().scanId, 30_000)).toMatchObject({ state: 'completed' });
      return (await app.inject({ method: 'GET', url: `/v1/scans/${res.json().scanId}/report` })).json();
    };
    const earlierKey = (await earlierKeys(record.path, false, record.fps))[0]!;
    expect(earlierKey).not.toBe(record.key);
    const upgraded = await rescan(earlierKey);
    expectFindings(upgraded);
    expect(upgraded.stats).toMatchObject({ errors: 0 });
    expect(upgraded.warnings).toEqual([]);
    const restored = decodeFingerprint('member', (await redis.hgetBuffer(fingerprintsKey, member.id))!);
    expect(restored.innerHashes.length).toBe(restored.frameCount);
    const changed = await rescan('0'.repeat(32));
    expect(changed.removed).not.toContain('compilation.mp4');
    expect(changed.errors).toEqual([
      expect.objectContaining({ side: 'train', video: member.id, code: 'COLLECTION_INCOMPLETE', message: expect.stringMatching(/changed since it was added/) }),
    ]);
    expectFindings(await rescan(record.key)); // as it was
  });

  it('matches against the fingerprints Redis holds, not the worker\'s store', async () => {
    const upload = path.join(fixturesDir, 'scan/bench/mandelbrot-zoom.mp4');
    expect((await app.inject({ method: 'POST', url: '/v1/collections/held/videos?wait=60', ...(await formBody(await videoForm(upload, {}))) })).statusCode).toBe(200);
    // The worker's whole store goes (another machine's worker, a pruned store): the check still sees the member.
    await rm(path.join(t.config.dataDir, 'fingerprints'), { recursive: true, force: true });
    const check = (await app.inject({ method: 'POST', url: '/v1/check?wait=60', ...json({ path: 'scan/train/compilation.mp4', collection: 'held' }) })).json();
    expect(check).toMatchObject({ state: 'completed', result: { matched: true } });
    expect(check.result.matches[0]).toMatchObject({ bench: 'mandelbrot-zoom.mp4', trainStart: 10 });
    expect(check.result.warnings).toBeUndefined();

    // The member as a version before inner-half hashes stored it: still matched on whole frames,
    // and the check says what it could not compare.
    const fingerprintsKey = `${t.config.prefix}:collection:held:fingerprints`;
    const held = decodeFingerprint('member', (await redis.hgetBuffer(fingerprintsKey, 'mandelbrot-zoom.mp4'))!);
    await redis.hset(fingerprintsKey, 'mandelbrot-zoom.mp4', encodeBeforeInner(held.key, held));
    await redis.incr(`${t.config.prefix}:collection:held:version`);
    const older = (await app.inject({ method: 'POST', url: '/v1/check?wait=60', ...json({ path: 'scan/train/compilation.mp4', collection: 'held' }) })).json();
    expect(older).toMatchObject({ state: 'completed', result: { matched: true } });
    expect(older.result.matches[0]).toMatchObject({ bench: 'mandelbrot-zoom.mp4', trainStart: 10 });
    expect(older.result.warnings).toEqual([
      expect.stringMatching(/^1 benchmark videos were fingerprinted by an older vdedup, without inner-half hashes/),
      expect.stringMatching(/^1 benchmark videos were fingerprinted by an older vdedup, without strip hashes: portrait \(9:16\) crops/),
    ]);
    // A scan against the collection says the same in its report.
    const scan = await app.inject({ method: 'POST', url: '/v1/scans', ...json({ train: 'scan/train', bench: 'collection:held' }) });
    expect(await scanWhenDone(app, scan.json().scanId, 30_000)).toMatchObject({ state: 'completed' });
    const report = (await app.inject({ method: 'GET', url: `/v1/scans/${scan.json().scanId}/report` })).json();
    expect(report.matches).toContainEqual(expect.objectContaining({ train: 'compilation.mp4', bench: 'mandelbrot-zoom.mp4', reason: 'near-duplicate' }));
    expect(report.warnings).toEqual(older.result.warnings);
  });

  it('a check that cannot read every member fails with COLLECTION_INCOMPLETE, never "no match"; after repair it answers afresh', async () => {
    // An uploaded member keeps no path: when its fingerprint in Redis is damaged and the worker's
    // store lacks it, nothing can rebuild it.
    const upload = path.join(fixturesDir, 'scan/bench/mandelbrot-zoom.mp4');
    const added = await app.inject({ method: 'POST', url: '/v1/collections/fragile/videos?wait=60', ...(await formBody(await videoForm(upload, {}))) });
    expect(added.statusCode).toBe(200);
    const member = (await app.inject({ method: 'GET', url: '/v1/collections/fragile' })).json().videos[0];
    expect(member.path).toBeUndefined();
    const fingerprintsKey = `${t.config.prefix}:collection:fragile:fingerprints`;
    const held = (await redis.hgetBuffer(fingerprintsKey, member.id))!;
    held.writeUInt8(held.readUInt8(held.length - 40) ^ 0xff, held.length - 40); // one flipped byte: the checksum no longer holds
    await redis.hset(fingerprintsKey, member.id, held);
    await rm(path.join(t.config.dataDir, 'fingerprints'), { recursive: true, force: true });
    const check = () => app.inject({ method: 'POST', url: '/v1/check?wait=60', ...json({ path: 'scan/train/compilation.mp4', collection: 'fragile' }) });
    const broken = (await check()).json();
    expect(broken).toMatchObject({ state: 'failed', error: { code: 'COLLECTION_INCOMPLETE' } });
    expect(broken.error.message).toMatch(/1 of 1 members .*mandelbrot-zoom\.mp4: the fingerprint in Redis is damaged .*checksum mismatch.*uploaded/);
    expect(broken.result).toBeUndefined();
    // The same check again fails again (a failure is never kept as the answer).
    expect((await check()).json()).toMatchObject({ state: 'failed', error: { code: 'COLLECTION_INCOMPLETE' } });
    // A scan against it lists the member as not compared, instead of reporting no match.
    const scan = await app.inject({ method: 'POST', url: '/v1/scans', ...json({ train: 'scan/train', bench: 'collection:fragile' }) });
    expect(await scanWhenDone(app, scan.json().scanId, 30_000)).toMatchObject({ state: 'completed' });
    const report = (await app.inject({ method: 'GET', url: `/v1/scans/${scan.json().scanId}/report` })).json();
    expect(report.errors).toEqual([expect.objectContaining({ side: 'bench', video: member.id, code: 'COLLECTION_INCOMPLETE' })]);
    // Repaired (the member removed and uploaded again): a new collection version, so a new check, and the match.
    expect((await app.inject({ method: 'DELETE', url: `/v1/collections/fragile/videos/${encodeURIComponent(member.id)}` })).statusCode).toBe(200);
    expect(await redis.hexists(fingerprintsKey, member.id)).toBe(0);
    expect((await app.inject({ method: 'POST', url: '/v1/collections/fragile/videos?wait=60', ...(await formBody(await videoForm(upload, {}))) })).statusCode).toBe(200);
    const repaired = (await check()).json();
    expect(repaired).toMatchObject({ state: 'completed', result: { matched: true } });
    expect(repaired.result.matches[0]).toMatchObject({ bench: member.id, trainStart: 10 });
  });

  it('removes a video from a collection and a whole collection; a removed video can be added again', async () => {
    const add = (body: object) => app.inject({ method: 'POST', url: '/v1/collections/scratch/videos?wait=60', ...json(body) });
    const check = async () =>
      (await app.inject({ method: 'POST', url: '/v1/check?wait=60', ...json({ path: 'scan/train/compilation.mp4', collection: 'scratch' }) })).json().result;
    expect((await add({ path: 'scan/bench/mandelbrot-zoom.mp4' })).statusCode).toBe(200); // id: its path under the root
    expect((await add({ path: 'scan/bench/testsrc2.mp4' })).statusCode).toBe(200);
    expect((await check()).matches[0]).toMatchObject({ bench: 'scan/bench/mandelbrot-zoom.mp4', trainStart: 10 });

    // An id with "/" travels URL-encoded.
    const del = await app.inject({ method: 'DELETE', url: `/v1/collections/scratch/videos/${encodeURIComponent('scan/bench/mandelbrot-zoom.mp4')}` });
    expect(del.statusCode).toBe(200);
    expect(del.json()).toMatchObject({ collection: 'scratch', removed: 'scan/bench/mandelbrot-zoom.mp4', version: 3 });
    expect((await app.inject({ method: 'GET', url: '/v1/collections/scratch' })).json().videos.map((v: { id: string }) => v.id)).toEqual(['scan/bench/testsrc2.mp4']);
    expect(await check()).toMatchObject({ matched: false, collectionVersion: 3 });
    const again = await app.inject({ method: 'DELETE', url: `/v1/collections/scratch/videos/${encodeURIComponent('scan/bench/mandelbrot-zoom.mp4')}` });
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe('VIDEO_NOT_FOUND');

    // Added again: a fresh job (the old one is forgotten), and checks see it again.
    const readd = await add({ path: 'scan/bench/mandelbrot-zoom.mp4', id: 'mandelbrot.mp4' });
    expect(readd.json().jobs[0]).toMatchObject({ state: 'completed', attemptsMade: 1 });
    expect((await app.inject({ method: 'GET', url: '/v1/collections/scratch' })).json().videos.map((v: { id: string }) => v.id)).toEqual(['mandelbrot.mp4', 'scan/bench/testsrc2.mp4']);
    expect((await check()).matches[0]).toMatchObject({ bench: 'mandelbrot.mp4', trainStart: 10 });

    const gone = await app.inject({ method: 'DELETE', url: '/v1/collections/scratch' });
    expect(gone.statusCode).toBe(200);
    expect(gone.json()).toEqual({ collection: 'scratch', removed: 2 });
    expect((await app.inject({ method: 'GET', url: '/v1/collections/scratch' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/v1/collections' })).json().collections.map((c: { name: string }) => c.name)).not.toContain('scratch');
    const checkGone = await app.inject({ method: 'POST', url: '/v1/check', ...json({ path: 'scan/train/compilation.mp4', collection: 'scratch' }) });
    expect(checkGone.json().error.code).toBe('COLLECTION_NOT_FOUND');
    const deleteGone = await app.inject({ method: 'DELETE', url: '/v1/collections/scratch' });
    expect(deleteGone.statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: '/v1/collections/scratch/videos/x.mp4' })).json().error.code).toBe('COLLECTION_NOT_FOUND');

    // Created again under the same name: versions go on from where they were, so no check result
    // of the old collection is ever served for the new one.
    expect((await add({ path: 'scan/bench/testsrc2.mp4' })).statusCode).toBe(200);
    const recreated = await check();
    expect(recreated).toMatchObject({ matched: false });
    expect(recreated.collectionVersion).toBeGreaterThan(4);
  });

  it('refuses malformed JSON, unknown fields and paths outside the allowed roots', async () => {
    const bad = await app.inject({ method: 'POST', url: '/v1/check', headers: { 'content-type': 'application/json' }, payload: '{"path": ' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toMatch(/JSON/);
    const unknown = await app.inject({ method: 'POST', url: '/v1/check', ...json({ path: 'scan/train/compilation.mp4', colection: 'typo' }) });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.message).toMatch(/additional|colection/);
    // A query parameter a route does not define is refused, not ignored (the collection belongs in the body).
    for (const url of ['/v1/check?collection=typo', '/health?verbose=1', '/v1/collections?limit=5', '/v1/scans?limt=5']) {
      const res = await app.inject({ method: url.startsWith('/v1/check') ? 'POST' : 'GET', url, ...(url.startsWith('/v1/check') ? json({ path: 'scan/train/compilation.mp4' }) : {}) });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code, url).toBe('VALIDATION');
    }
    // Multipart bodies that are not well formed are the client's mistake: 400, never 500.
    const noBoundary = await app.inject({ method: 'POST', url: '/v1/check', headers: { 'content-type': 'multipart/form-data' }, payload: 'whatever' });
    expect(noBoundary.statusCode).toBe(400);
    expect(noBoundary.json().error.code).toBe('INVALID_MULTIPART');
    const cutShort = await app.inject({
      method: 'POST',
      url: '/v1/frames',
      headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
      payload: '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\nContent-Type: video/mp4\r\n\r\n0123',
    });
    expect(cutShort.statusCode).toBe(400);
    expect(cutShort.json().error.code).toBe('INVALID_MULTIPART');

    const root = path.join(t.config.dataDir, 'root');
    await mkdir(root, { recursive: true });
    await symlink('/etc/passwd', path.join(root, 'escape.mp4'));
    const local = await buildApp({ ...t.config, roots: [root] }, { logger: false });
    const noRoots = await buildApp({ ...t.config, roots: [] }, { logger: false });
    try {
      for (const p of ['../etc/passwd', '/etc/passwd', 'escape.mp4', 'a/../../etc/passwd']) {
        const res = await local.inject({ method: 'POST', url: '/v1/check', ...json({ path: p, collection: 'bench' }) });
        expect(res.statusCode, p).toBe(403);
        expect(res.json().error.code).toBe('PATH_NOT_ALLOWED');
      }
      const missing = await local.inject({ method: 'POST', url: '/v1/check', ...json({ path: 'nothing.mp4' }) });
      expect(missing.statusCode).toBe(404);
      const disabled = await noRoots.inject({ method: 'POST', url: '/v1/scans', ...json({ train: 'a', bench: 'b' }) });
      expect(disabled.statusCode).toBe(403);
      expect(disabled.json().error.message).toMatch(/VDEDUP_ROOTS/);
    } finally {
      await local.close();
      await noRoots.close();
    }
  });

  it('streams uploads to disk, refuses oversized ones with 413 and leaves no file behind', async () => {
    const capped = await buildApp({ ...t.config, maxUploadBytes: 10_000 }, { logger: false });
    try {
      const big = await capped.inject({ method: 'POST', url: '/v1/check', ...(await formBody(await videoForm(path.join(fixturesDir, 'scan/train/compilation.mp4'), { collection: 'bench' }))) });
      expect(big.statusCode).toBe(413);
      expect(big.json().error.code).toBe('FILE_TOO_LARGE');
      const typo = await capped.inject({ method: 'POST', url: '/v1/check', ...(await formBody(await videoForm(path.join(fixturesDir, 'scan/train/compilation.mp4'), { colection: 'bench' }))) });
      expect(typo.statusCode).toBe(400);
      expect(typo.json().error.message).toMatch(/unknown multipart field "colection"/);
      const left = await readdir(path.join(t.config.dataDir, 'uploads')).catch(() => []);
      expect(left).toEqual([]);
    } finally {
      await capped.close();
    }
  });

  it('requires the API key when one is set (timing-safe), keeps /health and /docs open, guards the dashboard', async () => {
    const keyed = await buildApp({ ...t.config, apiKey: 's3cret-key' }, { logger: false });
    try {
      const openHealth = await keyed.inject({ method: 'GET', url: '/health' });
      expect(openHealth.statusCode).toBe(200);
      // Open to everyone, but where Redis is only to callers with the key.
      expect(openHealth.json().redis).toMatchObject({ ok: true, detail: 'reachable' });
      const keyedHealth = await keyed.inject({ method: 'GET', url: '/health', headers: { authorization: 'Bearer s3cret-key' } });
      expect(keyedHealth.json().redis.detail).toMatch(/^redis:\/\//);
      const docs = await keyed.inject({ method: 'GET', url: '/docs/json' });
      expect(docs.statusCode).toBe(200);
      // The document says /health needs no key (the rest of the API does).
      expect(docs.json().paths['/health'].get.security).toEqual([]);
      expect(docs.json().security).toEqual([{ bearer: [] }]);
      const none = await keyed.inject({ method: 'GET', url: '/v1/collections' });
      expect(none.statusCode).toBe(401);
      expect(none.json().error.code).toBe('UNAUTHORIZED');
      expect((await keyed.inject({ method: 'GET', url: '/v1/collections', headers: { authorization: 'Bearer s3cret-kez' } })).statusCode).toBe(401);
      expect((await keyed.inject({ method: 'GET', url: '/v1/collections', headers: { authorization: 'Bearer s3cret-key' } })).statusCode).toBe(200);
      const basicAuth = `Basic ${Buffer.from('anyone:s3cret-key').toString('base64')}`;
      expect((await keyed.inject({ method: 'GET', url: '/v1/collections', headers: { authorization: basicAuth } })).statusCode).toBe(200);
      const pageNoKey = await keyed.inject({ method: 'GET', url: '/v1/scans?format=html' });
      expect(pageNoKey.statusCode).toBe(401);
      expect(pageNoKey.headers['www-authenticate']).toMatch(/^Basic/);
      const board = await keyed.inject({ method: 'GET', url: '/admin/queues' });
      expect(board.statusCode).toBe(401);
      expect(board.headers['www-authenticate']).toMatch(/^Basic/);
      // The API's shape, not bull-board's own error body.
      expect(board.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
      const basic = `Basic ${Buffer.from('admin:s3cret-key').toString('base64')}`;
      const opened = await keyed.inject({ method: 'GET', url: '/admin/queues', headers: { authorization: basic } });
      expect(opened.statusCode).toBe(200);
      expect(opened.body).toMatch(/<html/i);
    } finally {
      await keyed.close();
    }
  });

  it('answers 503 while Redis is unreachable, stays up, and recovers when Redis returns', async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    const config = loadConfig({ ...t.env, REDIS_URL: redis.url });
    const local = await buildApp(config, { logger: false });
    try {
      expect((await local.inject({ method: 'GET', url: '/v1/collections' })).statusCode).toBe(200);
      await redis.stop();
      for (const req of [
        { method: 'GET' as const, url: '/v1/collections' },
        { method: 'POST' as const, url: '/v1/check', ...json({ path: 'scan/train/compilation.mp4' }) },
        { method: 'GET' as const, url: '/v1/jobs/check.abc' },
      ]) {
        const res = await local.inject(req);
        expect(res.statusCode, req.url).toBe(503);
        expect(res.json().error.code).toBe('REDIS_UNAVAILABLE');
        expect(res.headers['retry-after']).toBe('5');
      }
      const health = await local.inject({ method: 'GET', url: '/health' });
      expect(health.statusCode).toBe(503);
      expect(health.json()).toMatchObject({ status: 'degraded', redis: { ok: false } });

      redis = await startRedis(port);
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = (await local.inject({ method: 'GET', url: '/v1/collections' })).statusCode;
      }
      expect(status).toBe(200);
      expect((await local.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      await local.close();
      await redis.stop();
    }
  });

  it('answers a request to every operation of the OpenAPI document with a status the document lists for it', async () => {
    // An app of its own, which records the route that answered each request.
    const local = await buildApp(t.config, { logger: false });
    const answered: string[] = [];
    local.addHook('onResponse', async (request) => {
      answered.push(`${request.method} ${request.routeOptions.url}`);
    });
    try {
      const doc = (await local.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
      const documented = new Map<string, string[]>(
        Object.entries(doc.paths).flatMap(([p, methods]) => Object.entries(methods).map(([m, op]) => [`${m.toUpperCase()} ${p}`, Object.keys(op.responses)] as const)),
      );
      expect(documented.size).toBeGreaterThanOrEqual(11);

      // One request per operation, in an order where each finds what it needs (a collection of
      // its own, a frames job, a scan); the status each should get.
      const name = 'every-route';
      let framesJob = '';
      let scanId = '';
      const requests: Array<[operation: string, expected: number, send: () => Promise<LightMyRequestResponse>]> = [
        ['GET /health', 200, () => local.inject({ method: 'GET', url: '/health' })],
        ['POST /v1/collections/{name}/videos', 200, () => local.inject({ method: 'POST', url: `/v1/collections/${name}/videos?wait=60`, ...json({ source: 'scan/bench' }) })],
        ['GET /v1/collections', 200, () => local.inject({ method: 'GET', url: '/v1/collections' })],
        ['GET /v1/collections/{name}', 200, () => local.inject({ method: 'GET', url: `/v1/collections/${name}` })],
        ['POST /v1/check', 200, () => local.inject({ method: 'POST', url: '/v1/check?wait=60', ...json({ path: 'scan/train/unrelated-life.mp4', collection: name }) })],
        ['POST /v1/frames', 200, () => local.inject({ method: 'POST', url: '/v1/frames?wait=60', ...json({ path: 'scan/bench/testsrc2.mp4', count: 1, format: 'png', width: 32 }) })],
        ['GET /v1/jobs/{id}', 200, () => local.inject({ method: 'GET', url: `/v1/jobs/${framesJob}` })],
        ['GET /v1/jobs/{id}/frames/{n}', 200, () => local.inject({ method: 'GET', url: `/v1/jobs/${framesJob}/frames/0` })],
        ['POST /v1/scans', 202, () => local.inject({ method: 'POST', url: '/v1/scans', ...json({ train: 'scan/train', bench: `collection:${name}` }) })],
        ['GET /v1/scans', 200, () => local.inject({ method: 'GET', url: '/v1/scans' })],
        ['GET /v1/scans/{id}', 200, () => local.inject({ method: 'GET', url: `/v1/scans/${scanId}` })],
        ['GET /v1/scans/{id}/report', 200, () => local.inject({ method: 'GET', url: `/v1/scans/${scanId}/report` })],
        ['DELETE /v1/collections/{name}/videos/{id}', 200, () => local.inject({ method: 'DELETE', url: `/v1/collections/${name}/videos/testsrc2.mp4` })],
        ['DELETE /v1/collections/{name}', 200, () => local.inject({ method: 'DELETE', url: `/v1/collections/${name}` })],
      ];
      // Every documented operation is requested, and nothing else.
      expect(requests.map(([op]) => op).sort()).toEqual([...documented.keys()].sort());

      for (const [op, expected, send] of requests) {
        const res = await send();
        expect(documented.get(op), `${op}: the statuses the document lists`).toContain(String(res.statusCode));
        expect(res.statusCode, `${op}: ${res.body.slice(0, 300)}`).toBe(expected);
        // The documented route answered it (not another one, nor the 404 handler).
        expect(answered.at(-1)).toBe(op.replace(/\{(\w+)\}/g, ':$1'));
        if (op === 'POST /v1/frames') framesJob = res.json().jobId;
        if (op === 'POST /v1/scans') {
          scanId = res.json().scanId;
          expect(await scanWhenDone(local, scanId, 30_000)).toMatchObject({ state: 'completed' });
        }
      }
    } finally {
      await local.close();
    }
  });
});
