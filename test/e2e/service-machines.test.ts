import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpeg } from '../helpers/ffmpeg.js';
import { repoRoot } from '../helpers/paths.js';
import { startServer, startWorker, testEnv, videoForm, type ServiceProcess } from '../helpers/service.js';
import { loadConfig } from '../../src/config/service.js';
import { Producer } from '../../src/jobs/producer.js';
import { RefusedUploadSweep } from '../../src/app/uploads.js';

const fixtures = path.join(repoRoot, 'fixtures');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One API and two worker processes as on three machines: each has its own VDEDUP_DATA_DIR (so its
 * own fingerprint store) and none is shared. A collection added through one worker is matched by
 * the other, with the same findings as one machine gives (README: the scan of fixtures/scan);
 * jobs that truly need the API's volume fail with DATA_DIR_NOT_SHARED, never with "no match".
 */
describe('service on separate machines: API and 2 workers, no shared data dir', () => {
  let t: Awaited<ReturnType<typeof testEnv>>;
  let api: { proc: ServiceProcess; url: string };
  let worker: ServiceProcess | undefined;
  const dirs: string[] = [];
  let benchRoot: string;

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
  type Json = any;
  const get = async (p: string): Promise<{ status: number; body: Json }> => {
    const res = await fetch(api.url + p);
    return { status: res.status, body: await res.json() };
  };
  const post = async (p: string, body: unknown): Promise<{ status: number; body: Json }> => {
    const init = body instanceof FormData ? { body } : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
    const res = await fetch(api.url + p, { method: 'POST', ...init });
    return { status: res.status, body: await res.json() };
  };
  const machine = async (name: string) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), `vdedup-${name}-`));
    dirs.push(dir);
    return { ...t.env, VDEDUP_DATA_DIR: dir };
  };
  const expectReadmeNearDuplicate = (m: Json) =>
    expect(m).toMatchObject({ bench: 'mandelbrot-zoom.mp4', trainStart: 10, trainEnd: 34, benchStart: 6, benchEnd: 30, matchedFrames: 20, windowFrames: 20 });

  beforeAll(async () => {
    t = await testEnv();
    // The benchmark videos sit in a directory only the first worker reads: once it is gone, the
    // second worker can only know them from what Redis holds.
    benchRoot = await mkdtemp(path.join(os.tmpdir(), 'vdedup-bench-root-'));
    dirs.push(benchRoot);
    await mkdir(path.join(benchRoot, 'bench'));
    for (const f of await readdir(path.join(fixtures, 'scan', 'bench'))) await copyFile(path.join(fixtures, 'scan', 'bench', f), path.join(benchRoot, 'bench', f));
    Object.assign(t.env, { VDEDUP_ROOTS: [fixtures, benchRoot].join(path.delimiter), VDEDUP_RATE_LIMIT: '0', VDEDUP_WORKER_CONCURRENCY: '1' });
    api = await startServer(t.env); // its data dir: t.env's
  }, 60_000);

  afterAll(async () => {
    await Promise.all([api?.proc.stop(), worker?.stop()]);
    await t?.cleanup();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('a collection added on one worker is matched by another that never saw its files; uploads and frames fail with DATA_DIR_NOT_SHARED', async () => {
    worker = await startWorker(await machine('worker1'));
    const added = await post('/v1/collections/bench/videos?wait=60', { source: path.join(benchRoot, 'bench') });
    expect(added.status).toBe(200);
    expect(added.body.jobs.map((j: Json) => j.state)).toEqual(['completed', 'completed', 'completed']);
    await worker.stop();
    await rm(path.join(benchRoot, 'bench'), { recursive: true });

    worker = await startWorker(await machine('worker2'));
    // It says at start that it does not share the API's data dir.
    expect(worker.output()).toMatch(/"dataDirShared":false/);
    expect(worker.output()).toMatch(/is not the API's data dir/);

    // A check on a server path: the member's fingerprint comes from Redis.
    const check = await post('/v1/check?wait=60', { path: 'scan/train/compilation.mp4', collection: 'bench' });
    expect(check.status, JSON.stringify(check.body)).toBe(200);
    expect(check.body).toMatchObject({ state: 'completed', result: { matched: true } });
    expect(check.body.result.matches).toHaveLength(1);
    expectReadmeNearDuplicate(check.body.result.matches[0]);

    // A scan against the collection: the README's findings, without evidence strips (and it says why).
    const scan = await post('/v1/scans', { train: 'scan/train', bench: 'collection:bench' });
    expect(scan.status).toBe(202);
    let status: Json = {};
    for (const end = Date.now() + 60_000; Date.now() < end && !['completed', 'failed'].includes(status.state); await sleep(200)) {
      status = (await get(`/v1/scans/${scan.body.scanId}`)).body;
    }
    expect(status.state, JSON.stringify(status)).toBe('completed');
    const report = (await get(`/v1/scans/${scan.body.scanId}/report`)).body;
    expect([...report.removed].sort()).toEqual(['Ab3dE_fG9hK.mp4', 'compilation.mp4']);
    expectReadmeNearDuplicate(report.matches.find((m: Json) => m.reason === 'near-duplicate'));
    expect(report.matches.find((m: Json) => m.reason === 'youtube-id')).toMatchObject({ train: 'Ab3dE_fG9hK.mp4', bench: 'v_Ab3dE_fG9hK.mp4' });
    expect(report.stats).toMatchObject({ errors: 0, benchVideos: 3, trainVideos: 3 });
    expect(report.warnings.join('\n')).toMatch(/no evidence strips .* does not share the API's data dir/);

    // An upload lives in the API's data dir: this worker refuses it, clearly and without retries.
    // (The same frames in other bytes: a check of the very same file would join the finished one.)
    const remux = path.join(benchRoot, 'remuxed.mp4');
    await ffmpeg(['-i', path.join(fixtures, 'scan/train/compilation.mp4'), '-c', 'copy', '-metadata', 'title=remuxed', remux]);
    const upload = await post('/v1/check?wait=60', await videoForm(remux, { collection: 'bench' }));
    expect(upload.body).toMatchObject({ state: 'failed', error: { code: 'DATA_DIR_NOT_SHARED' } });
    expect(upload.body.error.message).toMatch(/VDEDUP_DATA_DIR/);
    expect(upload.body.result).toBeUndefined();
    // No worker could delete that upload (it is on the API's volume): the API did, on seeing the refusal.
    const uploadsDir = path.join(t.env.VDEDUP_DATA_DIR!, 'uploads');
    expect(await readdir(uploadsDir).catch(() => [])).toEqual([]);
    // Not waited for: the refused upload stays until the API's sweep of failed jobs deletes it.
    const remux2 = path.join(benchRoot, 'remuxed-2.mp4');
    await ffmpeg(['-i', path.join(fixtures, 'scan/train/compilation.mp4'), '-c', 'copy', '-metadata', 'title=remuxed 2', remux2]);
    const queued = await post('/v1/check', await videoForm(remux2, { collection: 'bench' }));
    expect(queued.status).toBe(202);
    for (let i = 0; i < 200 && (await get(`/v1/jobs/${queued.body.jobId}`)).body.state !== 'failed'; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await get(`/v1/jobs/${queued.body.jobId}`)).body).toMatchObject({ state: 'failed', error: { code: 'DATA_DIR_NOT_SHARED' } });
    expect(await readdir(uploadsDir)).toHaveLength(1);
    const config = loadConfig(t.env);
    const producer = new Producer(config);
    try {
      const sweep = new RefusedUploadSweep(producer, config);
      expect(await sweep.run()).toBe(1);
      expect(await readdir(uploadsDir)).toEqual([]);
      expect(await sweep.run()).toBe(0);
    } finally {
      await producer.close();
    }
    // Frames are served from the API's data dir: refused too.
    const frames = await post('/v1/frames?wait=60', { path: 'scan/bench/testsrc2.mp4', count: 2 });
    expect(frames.body).toMatchObject({ state: 'failed', error: { code: 'DATA_DIR_NOT_SHARED' } });

    // /health says so (503: degraded), naming the worker.
    const health = await get('/health');
    expect(health.status).toBe(503);
    expect(health.body.dataDir).toMatchObject({ ok: false });
    expect(health.body.dataDir.workers).toEqual([expect.objectContaining({ shared: false })]);

    // A worker on the API's volume takes the same upload and finds the copy.
    await worker.stop();
    worker = await startWorker(t.env);
    expect(worker.output()).toMatch(/"dataDirShared":true/);
    const shared = await post('/v1/check?wait=60', await videoForm(remux, { collection: 'bench' }));
    expect(shared.body).toMatchObject({ state: 'completed', result: { matched: true } });
    expectReadmeNearDuplicate(shared.body.result.matches[0]);
    expect((await get('/health')).body.dataDir).toMatchObject({ ok: true, workers: [expect.objectContaining({ shared: true })] });
  }, 180_000);
});
