import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpeg } from '../helpers/ffmpeg.js';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';
import { startServer, startWorker, testEnv, videoForm, type ServiceProcess } from '../helpers/service.js';

const fixtures = path.join(repoRoot, 'fixtures');
const scanTrain = path.join(fixtures, 'scan', 'train');
const scanBench = path.join(fixtures, 'scan', 'bench');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

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

  /** `files.length` checks at once, each uploading its own clip; all must answer 200 with a result. */
  async function burst(files: string[]) {
    const forms = await Promise.all(files.map((c) => videoForm(c, { collection: 'benchmarks' })));
    const started = performance.now();
    const results = await Promise.all(
      forms.map(async (form) => {
        const t0 = performance.now();
        const r = await fetch(`${api.url}/v1/check?wait=300`, { method: 'POST', body: form });
        const body: Json = await r.json();
        return { status: r.status, state: body.state as string, matched: body.result?.matched as boolean, ms: performance.now() - t0 };
      }),
    );
    const wallS = (performance.now() - started) / 1000;
    const ms = results.map((r) => r.ms).sort((a, b) => a - b);
    const errors = results.filter((r) => r.status !== 200 || r.state !== 'completed').length;
    return {
      results,
      figures: { requests: files.length, workers: 2, concurrency: 1, errors, p50Ms: Math.round(percentile(ms, 50)), p99Ms: Math.round(percentile(ms, 99)), throughputPerS: +(files.length / wallS).toFixed(1) },
    };
  }

  /** Peak resident memory of a process so far (VmHWM), in MiB. */
  async function peakRssMiB(pid: number): Promise<number> {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024);
  }

  const clips: string[] = [];

  it('50 concurrent POST /v1/check requests all succeed (latency and throughput printed)', async () => {
    for (let i = 0; i < 50; i++) {
      const file = path.join(media, `small-${i}.mp4`);
      await ffmpeg(['-f', 'lavfi', '-i', `life=size=160x120:rate=5:seed=${i + 1}:mold=10`, '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file]);
      clips.push(file);
    }
    const { results, figures } = await burst(clips);
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(results.every((r) => r.state === 'completed' && r.matched === false)).toBe(true);
    console.log(`service load (issue 4): ${JSON.stringify(figures)}`);
  }, 180_000);

  it('200 concurrent checks through the real stack: no errors; latency, throughput and peak memory recorded', async () => {
    // 200 files never checked before (the 50 pictures above, remuxed with other metadata: other
    // bytes, other content keys, so 200 new jobs rather than answers from earlier ones).
    const fresh: string[] = [];
    for (let i = 0; i < 200; i++) {
      const file = path.join(media, `copy-${i}.mp4`);
      await ffmpeg(['-i', clips[i % clips.length]!, '-c', 'copy', '-metadata', `comment=copy ${i}`, file]);
      fresh.push(file);
    }
    const { results, figures } = await burst(fresh);
    expect(figures.errors).toBe(0);
    expect(results.every((r) => r.matched === false)).toBe(true);
    const memory = {
      apiPeakRssMiB: await peakRssMiB(api.proc.pid),
      workerPeakRssMiB: await Promise.all(workers.map((w) => peakRssMiB(w.pid))),
    };
    const out = { ...figures, ...memory };
    console.log(`service load (issue 8): ${JSON.stringify(out)}`);
    await mkdir(path.join(repoRoot, 'test-artifacts'), { recursive: true });
    await writeFile(path.join(repoRoot, 'test-artifacts', 'service-load.json'), `${JSON.stringify(out, null, 2)}\n`);
  }, 300_000);

  it('the API and the workers stop cleanly on SIGTERM, leaving no upload behind', async () => {
    expect(await readdir(path.join(t.config.dataDir, 'uploads'))).toEqual([]);
    expect(await api.proc.stop()).toBe(0);
    for (const w of workers) expect(await w.stop()).toBe(0);
  });
});
