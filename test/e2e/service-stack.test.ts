import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpeg } from '../helpers/ffmpeg.js';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';
import { startServer, startWorker, testEnv, videoForm, type ServiceProcess } from '../helpers/service.js';

const fixtures = path.join(repoRoot, 'fixtures');
const scanTrain = path.join(fixtures, 'scan', 'train');
const scanBench = path.join(fixtures, 'scan', 'bench');

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The real stack: `vdedup serve` and two `vdedup worker` processes on real Redis, real ffmpeg.
 * Short locks so a killed worker's job is taken over within seconds.
 */
describe('service stack: API + 2 worker processes + Redis', () => {
  let t: Awaited<ReturnType<typeof testEnv>>;
  let media: string;
  let api: { proc: ServiceProcess; url: string };
  const workers: ServiceProcess[] = [];

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
  type Json = any;
  const get = async (p: string): Promise<Json> => (await fetch(api.url + p)).json();
  const postJson = async (p: string, body: unknown) =>
    fetch(api.url + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  }

  beforeAll(async () => {
    t = await testEnv();
    media = path.join(t.config.dataDir, 'media');
    await mkdir(media, { recursive: true });
    Object.assign(t.env, {
      VDEDUP_ROOTS: [fixtures, media].join(path.delimiter),
      VDEDUP_WORKER_CONCURRENCY: '1',
      VDEDUP_SCAN_BATCH: '1',
      VDEDUP_LOCK_MS: '2000',
      VDEDUP_STALLED_INTERVAL_MS: '1000',
      // This test polls job states every 50 ms: more than the default budget of 600 requests a minute.
      VDEDUP_RATE_LIMIT: '0',
    });
    const [w1, w2, server] = await Promise.all([startWorker(t.env), startWorker(t.env), startServer(t.env)]);
    workers.push(w1, w2);
    api = server;
  }, 60_000);

  afterAll(async () => {
    await Promise.all([api?.proc.stop(), ...workers.map((w) => w.stop())]);
    await t?.cleanup();
  });

  it('collection from uploads, then an uploaded planted copy matches with time ranges and an unrelated video does not', async () => {
    const form = new FormData();
    for (const name of ['mandelbrot-zoom.mp4', 'testsrc2.mp4']) {
      form.append('file', new Blob([await readFile(path.join(scanBench, name))]), name);
    }
    const added = await fetch(`${api.url}/v1/collections/benchmarks/videos?wait=60`, { method: 'POST', body: form });
    expect(added.status).toBe(200);
    const body: Json = await added.json();
    expect(body.jobs.map((j: { state: string }) => j.state)).toEqual(['completed', 'completed']);
    // An upload is deleted once fingerprinted: its member keeps no path.
    const members: Json = await (await fetch(`${api.url}/v1/collections/benchmarks`)).json();
    expect(members.videos.map((v: Json) => Object.hasOwn(v, 'path'))).toEqual([false, false]);

    const planted = await fetch(`${api.url}/v1/check?wait=60`, { method: 'POST', body: await videoForm(path.join(scanTrain, 'compilation.mp4'), { collection: 'benchmarks' }) });
    expect(planted.status).toBe(200);
    const hit = ((await planted.json()) as Json).result;
    expect(hit.matched).toBe(true);
    expect(hit.matches).toHaveLength(1);
    expect(hit.matches[0]).toMatchObject({ train: 'compilation.mp4', bench: 'mandelbrot-zoom.mp4', trainStart: 10, trainEnd: 34, benchStart: 6, benchEnd: 30 });

    const unrelated = await fetch(`${api.url}/v1/check?wait=60`, { method: 'POST', body: await videoForm(path.join(scanTrain, 'unrelated-life.mp4'), { collection: 'benchmarks' }) });
    expect(((await unrelated.json()) as Json).result).toMatchObject({ matched: false, matches: [] });
  });

  it('a scan runs as a flow across both workers and reports what `vdedup scan` reports', async () => {
    const res = await postJson('/v1/scans', { train: 'scan/train', bench: 'scan/bench' });
    expect(res.status).toBe(202);
    const { scanId, videos }: Json = await res.json();
    expect(videos).toBe(6);
    const status = await until('the scan', async () => {
      const s = await get(`/v1/scans/${scanId}`);
      return s.state === 'completed' || s.state === 'failed' ? s : undefined;
    });
    expect(status).toMatchObject({ state: 'completed', batches: { total: 6, done: 6, failed: 0, pending: 0 } });
    const served = await get(`/v1/scans/${scanId}/report`);

    const out = path.join(t.config.dataDir, 'cli-report.json');
    const cli = await runCli(['scan', '--train', scanTrain, '--bench', scanBench, '--out', out, '--cache-dir', path.join(t.config.dataDir, 'cli-cache')]);
    expect(cli.code, cli.stderr).toBe(0);
    const local = JSON.parse(await readFile(out, 'utf8'));
    expect(served.matches).toEqual(local.matches);
    expect(served.removed).toEqual(local.removed);
    expect(served.errors).toEqual(local.errors);
    expect(served.stats).toMatchObject({ trainVideos: 3, benchVideos: 3, youtubeIdMatches: 1, nearDuplicateMatches: 1 });

    // Which worker fingerprinted each batch: the work was shared.
    const uuid = scanId.slice('scan.'.length);
    const batchWorkers = new Set<string>();
    for (let i = 0; i < 6; i++) batchWorkers.add((await get(`/v1/jobs/batch.${uuid}.${i}`)).processedBy);
    const pids = workers.map((w) => String(w.pid));
    for (const w of batchWorkers) expect(pids).toContain(w.split(':').pop());
    expect(batchWorkers.size).toBe(2);
  });

  it('a scan of WebDataset shards and a .tar.gz: one batch per archive, members read where they lie, the report `vdedup scan` gives', async () => {
    const stage = path.join(media, 'stage');
    const shards = path.join(media, 'shards');
    await mkdir(stage, { recursive: true });
    await mkdir(shards, { recursive: true });
    const members: Array<[string, string]> = [['000000000', 'compilation.mp4'], ['000000001', 'unrelated-life.mp4'], ['000010000', 'Ab3dE_fG9hK.mp4']];
    for (const [key, video] of members) {
      await copyFile(path.join(scanTrain, video), path.join(stage, `${key}.mp4`));
      await writeFile(path.join(stage, `${key}.json`), JSON.stringify({ url: `https://example.com/${key}`, key }));
    }
    await run('tar', ['-cf', path.join(shards, '00000.tar'), '-C', stage, '000000000.mp4', '000000000.json', '000000001.mp4', '000000001.json']);
    await run('tar', ['-cf', path.join(shards, '00001.tar'), '-C', stage, '000010000.mp4', '000010000.json']);
    await run('tar', ['-czf', path.join(media, 'corpus.tar.gz'), '-C', stage, ...members.map(([key]) => `${key}.mp4`)]);
    // 00002.tar is missing: an error entry, and the rest is scanned.
    for (const train of [path.join(shards, '{00000..00002}.tar'), path.join(media, 'corpus.tar.gz')]) {
      const res = await postJson('/v1/scans', { train, bench: 'scan/bench' });
      expect(res.status, train).toBe(202);
      const { scanId }: Json = await res.json();
      const status = await until('the scan', async () => {
        const s = await get(`/v1/scans/${scanId}`);
        return s.state === 'completed' || s.state === 'failed' ? s : undefined;
      });
      // The 3 benchmark files one per batch (VDEDUP_SCAN_BATCH=1), each archive one batch.
      const archives = train.endsWith('.tar.gz') ? 1 : 2;
      expect(status, train).toMatchObject({ state: 'completed', batches: { total: 3 + archives, done: 3 + archives, failed: 0 } });
      const served = await get(`/v1/scans/${scanId}/report`);
      const out = path.join(t.config.dataDir, 'cli-archive-report.json');
      const cli = await runCli(['scan', '--train', train, '--bench', scanBench, '--out', out, '--cache-dir', path.join(t.config.dataDir, 'cli-cache')]);
      expect(cli.code, cli.stderr).toBe(0);
      const local = JSON.parse(await readFile(out, 'utf8'));
      expect(served.matches, train).toEqual(local.matches);
      expect(served.removed, train).toEqual(local.removed);
      expect(served.removedMembers, train).toEqual(local.removedMembers);
      expect(served.errors, train).toEqual(local.errors);
      expect(served.matches.filter((m: Json) => m.reason === 'near-duplicate').map((m: Json) => m.trainKey), train).toEqual(['000000000']);
      expect(served.errors.map((e: Json) => [e.video, e.code]), train).toEqual(train.endsWith('.tar.gz') ? [] : [[path.join(shards, '00002.tar'), 'FILE_NOT_FOUND']]);
    }
  });

  it('kill -9 of the worker running a job: the other worker completes it and the store stays sound', async () => {
    const long = path.join(media, 'long.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=360', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '250', '-pix_fmt', 'yuv420p', long]);
    const res = await postJson('/v1/collections/long/videos', { path: long });
    expect(res.status).toBe(202);
    const jobId = ((await res.json()) as Json).queued[0].jobId;
    const running = await until('the job to start', async () => {
      const j = await get(`/v1/jobs/${jobId}`);
      return j.state === 'active' && j.processedBy !== null ? j : undefined;
    });
    const victim = workers.find((w) => running.processedBy.endsWith(`:${w.pid}`))!;
    expect(victim).toBeDefined();
    const killedAt = performance.now();
    await victim.kill9();
    workers.splice(workers.indexOf(victim), 1);

    const done = await until('the job to complete on the other worker', async () => {
      const j = await get(`/v1/jobs/${jobId}`);
      return j.state === 'completed' || j.state === 'failed' ? j : undefined;
    });
    // Each assertion carries what explains a failure (the job as the API shows it, the workers' logs).
    const why = () => `${JSON.stringify(done)}\n--- victim log:\n${victim.output().slice(-3000)}\n--- surviving worker log:\n${workers[0]!.output().slice(-3000)}`;
    expect(done.state, why()).toBe('completed');
    console.log(`fault kill -9: job completed by the other worker ${((performance.now() - killedAt) / 1000).toFixed(1)} s after the kill (VDEDUP_LOCK_MS=2000, VDEDUP_STALLED_INTERVAL_MS=1000)`);
    expect(done.processedBy, why()).toBe(running.processedBy.replace(/:\d+$/, `:${workers[0]!.pid}`));
    expect(done.result, why()).toMatchObject({ collection: 'long', frames: 360 });
    expect(workers[0]!.output(), 'the surviving worker logs the stalled job').toMatch(/stalled/);

    const verify = await runCli(['store', 'verify', '--cache-dir', t.config.dataDir]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    // The stored fingerprint is the one the CLI computes from the file.
    const fromStore = await runCli(['fingerprint', long, '--json'], { VDEDUP_CACHE_DIR: t.config.dataDir });
    const fresh = await runCli(['fingerprint', long, '--json'], { VDEDUP_CACHE_DIR: path.join(t.config.dataDir, 'fresh-cache') });
    expect(fromStore.code, fromStore.stderr).toBe(0);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(JSON.parse(fromStore.stdout).hashes).toEqual(JSON.parse(fresh.stdout).hashes);

    workers.push(await startWorker(t.env));
  }, 120_000);

  // Latency, throughput and memory under bursts of 50 and 200 checks are measured by
  // bench/service-load.mjs (npm run bench -- --full); this test checks the answers only.
  it('8 concurrent POST /v1/check uploads: all answered 200, planted copies matched, unrelated clips not', async () => {
    const add = await postJson('/v1/collections/smoke/videos?wait=60', { source: 'scan/bench' });
    expect(add.status).toBe(200);
    // Every request uploads a file never checked before (remuxed with its own metadata: other
    // bytes, other content key), so the 8 checks are 8 jobs running side by side.
    const clips: Array<{ file: string; planted: boolean }> = [];
    for (let i = 0; i < 8; i++) {
      const planted = i % 2 === 0;
      const file = path.join(media, `smoke-${planted ? 'planted' : 'unrelated'}-${i}.mp4`);
      await ffmpeg(['-i', path.join(scanTrain, planted ? 'compilation.mp4' : 'unrelated-life.mp4'), '-c', 'copy', '-metadata', `comment=smoke ${i}`, file]);
      clips.push({ file, planted });
    }
    const forms = await Promise.all(clips.map((c) => videoForm(c.file, { collection: 'smoke' })));
    const answers = await Promise.all(
      forms.map(async (form) => {
        const r = await fetch(`${api.url}/v1/check?wait=120`, { method: 'POST', body: form });
        return { status: r.status, body: (await r.json()) as Json };
      }),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(answers.map((a) => a.body.state)).toEqual(Array(8).fill('completed'));
    for (const [i, { file, planted }] of clips.entries()) {
      const result = answers[i]!.body.result;
      if (planted) {
        expect(result.matched, file).toBe(true);
        expect(result.matches, file).toHaveLength(1);
        expect(result.matches[0], file).toMatchObject({ train: path.basename(file), bench: 'mandelbrot-zoom.mp4', reason: 'near-duplicate', trainStart: 10, trainEnd: 34, benchStart: 6, benchEnd: 30 });
      } else {
        expect(result, file).toMatchObject({ matched: false, matches: [] });
      }
    }
    // Eight distinct jobs, none answered from another's result.
    expect(new Set(answers.map((a) => a.body.jobId)).size).toBe(8);
  }, 180_000);

  it('the API and the workers stop cleanly on SIGTERM, leaving no upload behind', async () => {
    const form = new FormData();
    form.append('file', new Blob([await readFile(path.join(scanBench, 'testsrc2.mp4'))]), 'testsrc2.mp4');
    const added = await fetch(`${api.url}/v1/collections/last/videos?wait=60`, { method: 'POST', body: form });
    expect(added.status).toBe(200);
    expect(await readdir(path.join(t.config.dataDir, 'uploads'))).toEqual([]);
    expect(await api.proc.stop()).toBe(0);
    for (const w of workers) expect(await w.stop()).toBe(0);
  });
});
