#!/usr/bin/env node
// The HTTP service under bursts of concurrent checks, through the real stack.
//   node bench/service-load.mjs [--bursts 50,200] [--burst-timeout 300]
// Starts `vdedup serve` and two `vdedup worker` processes (VDEDUP_WORKER_CONCURRENCY=1) on the
// local Redis (127.0.0.1:6379, its own random VDEDUP_QUEUE_PREFIX) with a temporary data dir,
// builds a 2-video collection from fixtures/scan/bench, then sends each burst of
// `POST /v1/check?wait=300` requests at once, every request uploading its own 4-second 160x120
// clip never checked before (so every request is a new job). Latency is the whole request:
// upload, ffprobe screening in the API, queueing, fingerprinting by a worker, matching, answer.
// Peak memory is each process's VmHWM after the last burst (ffmpeg children not included).
// Prints the figures, writes bench/out/service-load.json, and ends with that JSON on stdout (for
// bench/run.mjs). Cleans up whatever happens: stops its processes, deletes its Redis keys and its
// temporary files. Traffic goes to 127.0.0.1 only.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { deleteRedisPrefix, freePort } from '../scripts/service-helpers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'bin', 'vdedup.js');
const outDir = path.join(root, 'bench', 'out');
const scanBench = path.join(root, 'fixtures', 'scan', 'bench');
const ffmpegPath = process.env.FFMPEG_PATH ?? 'ffmpeg';
const exec = promisify(execFile);

const argText = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const bursts = argText('bursts', '50,200').split(',').map(Number);
const burstTimeoutS = Number(argText('burst-timeout', '300'));
const MAX_REQUESTS = 1000;
if (bursts.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_REQUESTS)) throw new Error(`--bursts: whole numbers from 1 to ${MAX_REQUESTS}, got ${argText('bursts')}`);
if (!(burstTimeoutS > 0 && burstTimeoutS <= 900)) throw new Error('--burst-timeout: seconds, at most 900');

const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = `bench${randomBytes(6).toString('hex')}`;
const log = (line) => process.stderr.write(`${line}\n`);
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

const children = [];

/** Start `vdedup <args>`; resolves when its log matches `ready`. */
function start(args, env, ready, timeoutMs = 60_000) {
  const child = spawn(process.execPath, [cli, ...args], { cwd: root, env: { ...process.env, ...env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const proc = { child, pid: child.pid, exited, out: '' };
  children.push(proc);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vdedup ${args.join(' ')} not ready in ${timeoutMs} ms:\n${proc.out.slice(-3000)}`)), timeoutMs);
    const onData = (d) => {
      proc.out = (proc.out + d).slice(-20_000);
      if (ready.test(proc.out)) {
        clearTimeout(timer);
        resolve(proc);
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`vdedup ${args.join(' ')} exited (${code}) before it was ready:\n${proc.out.slice(-3000)}`));
    });
  });
}

async function stopAll() {
  await Promise.all(
    children.map(async (p) => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return;
      p.child.kill('SIGTERM');
      const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
      await p.exited;
      clearTimeout(timer);
    }),
  );
}

const ffmpeg = (args) => exec(ffmpegPath, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], { timeout: 120_000 });

async function peakRssMiB(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) / 1024);
}

/** One multipart body per file, as curl -F sends it. */
async function form(file, fields) {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  f.append('file', new Blob([await readFile(file)], { type: 'video/mp4' }), path.basename(file));
  return f;
}

/** `files.length` checks at once; each must answer 200 with a completed result to count as a success. */
async function burst(url, files) {
  const forms = await Promise.all(files.map((file) => form(file, { collection: 'benchmarks' })));
  const signal = AbortSignal.timeout(burstTimeoutS * 1000);
  const started = performance.now();
  const results = await Promise.all(
    forms.map(async (body) => {
      const t0 = performance.now();
      try {
        const r = await fetch(`${url}/v1/check?wait=300`, { method: 'POST', body, signal });
        const json = await r.json();
        const ok = r.status === 200 && json.state === 'completed';
        // What went wrong, for the figures: the status and the error code (e.g. 422 TIMEOUT).
        const status = ok ? r.status : [r.status, json.error?.code ?? json.state].filter(Boolean).join(' ');
        return { ok, matched: json.result?.matched, status, ms: performance.now() - t0 };
      } catch (err) {
        return { ok: false, status: String(err?.name ?? err), ms: performance.now() - t0 };
      }
    }),
  );
  const wallS = (performance.now() - started) / 1000;
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  const failed = results.filter((r) => !r.ok);
  return {
    requests: files.length,
    errors: failed.length,
    errorStatuses: [...new Set(failed.map((r) => r.status))],
    matched: results.filter((r) => r.matched === true).length,
    p50Ms: Math.round(percentile(ms, 50)),
    p99Ms: Math.round(percentile(ms, 99)),
    throughputPerS: Number((files.length / wallS).toFixed(1)),
  };
}

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'vdedup-bench-svc-'));
let cleaningUp;
const cleanup = () =>
  (cleaningUp ??= (async () => {
    await stopAll();
    await deleteRedisPrefix(REDIS_URL, prefix).catch((err) => log(`could not delete the Redis keys ${prefix}:*: ${err.message}`));
    await rm(dataDir, { recursive: true, force: true });
  })());
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    log(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

try {
  const media = path.join(dataDir, 'media');
  await mkdir(media, { recursive: true });
  const env = {
    REDIS_URL,
    VDEDUP_QUEUE_PREFIX: prefix,
    VDEDUP_DATA_DIR: dataDir,
    VDEDUP_ROOTS: media,
    VDEDUP_WORKER_CONCURRENCY: '1',
    // 250 requests plus the collection's: well under the default budget, but the figure should
    // not depend on it.
    VDEDUP_RATE_LIMIT: '0',
  };
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  log(`starting vdedup serve on ${url} and two workers (queue prefix ${prefix}, data ${dataDir})`);
  const [api, ...workers] = await Promise.all([
    start(['serve'], { ...env, PORT: String(port), HOST: '127.0.0.1' }, /Server listening/),
    start(['worker'], env, /workers ready/),
    start(['worker'], env, /workers ready/),
  ]);

  // The collection every check goes against: two benchmark videos, uploaded.
  const collection = new FormData();
  for (const name of ['mandelbrot-zoom.mp4', 'testsrc2.mp4']) collection.append('file', new Blob([await readFile(path.join(scanBench, name))]), name);
  const added = await fetch(`${url}/v1/collections/benchmarks/videos?wait=120`, { method: 'POST', body: collection });
  if (added.status !== 200) throw new Error(`could not build the collection: ${added.status} ${await added.text()}`);

  // Clips: the first burst's are generated (Conway's life, one seed each); later bursts check
  // remuxed copies of them (other metadata: other bytes and content keys, so new jobs).
  const first = bursts[0];
  const clips = [];
  for (let i = 0; i < first; i++) {
    const file = path.join(media, `small-${i}.mp4`);
    await ffmpeg(['-f', 'lavfi', '-i', `life=size=160x120:rate=5:seed=${i + 1}:mold=10`, '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file]);
    clips.push(file);
  }
  const figures = [];
  for (const [b, n] of bursts.entries()) {
    let files = clips.slice(0, n);
    if (b > 0 || n > clips.length) {
      files = [];
      for (let i = 0; i < n; i++) {
        const file = path.join(media, `copy-${b}-${i}.mp4`);
        await ffmpeg(['-i', clips[i % clips.length], '-c', 'copy', '-metadata', `comment=copy ${b} ${i}`, file]);
        files.push(file);
      }
    }
    const f = await burst(url, files);
    figures.push(f);
    log(`burst of ${n}: p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, ${f.throughputPerS} checks/s, ${f.errors} errors${f.errors ? ` (${f.errorStatuses.join(', ')})` : ''}, ${f.matched} matched (expected 0)`);
  }
  const out = {
    date: new Date().toISOString(),
    machine: { cpus: os.availableParallelism(), memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    workers: workers.length,
    workerConcurrency: 1,
    clip: '4 s, 160x120, H.264, uploaded (multipart)',
    bursts: figures,
    apiPeakRssMiB: await peakRssMiB(api.pid),
    workerPeakRssMiB: await Promise.all(workers.map((w) => peakRssMiB(w.pid))),
  };
  log(`peak RSS: API ${out.apiPeakRssMiB} MiB, workers ${out.workerPeakRssMiB.join(' / ')} MiB`);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'service-load.json'), `${JSON.stringify(out, null, 2)}\n`);
  log('wrote bench/out/service-load.json');
  console.log(JSON.stringify(out, null, 2));
} finally {
  await cleanup();
}
