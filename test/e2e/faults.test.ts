import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { loadConfig } from '../../src/config/service.js';
import { runCli } from '../helpers/cli.js';
import { ffmpeg, withTempDir } from '../helpers/ffmpeg.js';
import { repoRoot } from '../helpers/paths.js';
import { freePort, jsonBody, scanWhenDone, startRedis, startWorker, testEnv } from '../helpers/service.js';

const exec = promisify(execFile);
const scanTrain = path.join(repoRoot, 'fixtures', 'scan', 'train');
const scanBench = path.join(repoRoot, 'fixtures', 'scan', 'bench');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const json = jsonBody;

async function storeFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(path.join(d, e.name));
      else out.push(e.name);
    }
  };
  await walk(path.join(dir, 'fingerprints'));
  return out;
}

/** Issue 8's faults: a full disk under the store, a hung ffmpeg, Redis restarting under a scan. */
describe('faults', () => {
  it('disk full during store writes: the scan stops with one clear line, the store stays sound, and works once there is room', async () => {
    await withTempDir(async (dir) => {
      const mnt = path.join(dir, 'store');
      await mkdir(mnt);
      // A 256 KiB tmpfs filled up: every store write meets ENOSPC. (CI runs as root, like this machine.)
      await exec('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
      try {
        await exec('sh', ['-c', `dd if=/dev/zero of=${path.join(mnt, 'filler')} bs=4k 2>/dev/null || true`]);
        const out = path.join(dir, 'report.json');
        const full = await runCli(['scan', '--train', scanTrain, '--bench', scanBench, '--out', out, '--cache-dir', mnt]);
        expect(full.code).toBe(1);
        const lines = full.stderr.trim().split('\n').filter((l) => l.startsWith('vdedup:'));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/cannot write the fingerprint store at .*: the disk is full \(ENOSPC\)/);
        // No torn entry, no temp file left behind.
        expect((await storeFiles(mnt)).filter((n) => n.includes('.tmp-'))).toEqual([]);
        const verify = await runCli(['store', 'verify', '--cache-dir', mnt]);
        expect(verify.code, verify.stdout + verify.stderr).toBe(0);

        await rm(path.join(mnt, 'filler'));
        const ok = await runCli(['scan', '--train', scanTrain, '--bench', scanBench, '--out', out, '--cache-dir', mnt]);
        expect(ok.code, ok.stderr).toBe(0);
        expect(JSON.parse(await readFile(out, 'utf8')).removed).toEqual(['Ab3dE_fG9hK.mp4', 'compilation.mp4']);
        expect((await runCli(['store', 'verify', '--cache-dir', mnt])).code).toBe(0);
      } finally {
        await exec('umount', [mnt]);
      }
    });
  });

  describe('service', () => {
    let t: Awaited<ReturnType<typeof testEnv>>;
    beforeAll(async () => {
      t = await testEnv({ VDEDUP_RATE_LIMIT: '0' });
    });
    afterAll(async () => t?.cleanup());

    it('a hung ffmpeg: the job is stopped at its time limit with the reason, ffmpeg is killed, the worker carries on', async () => {
      const fake = path.join(t.config.dataDir, 'hung-ffmpeg');
      const pidFile = path.join(t.config.dataDir, 'hung.pid');
      await writeFile(fake, `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 600\n`);
      await chmod(fake, 0o755);
      const env = { ...t.env, FFMPEG_PATH: fake, VDEDUP_JOB_TIMEOUT_SECONDS: '2', VDEDUP_WORKER_CONCURRENCY: '1' };
      const worker = await startWorker(env, '--queues', 'frames');
      const app = await buildApp(loadConfig(env), { logger: false });
      try {
        const res = await app.inject({ method: 'POST', url: '/v1/frames?wait=30', ...json({ path: 'clips/testsrc2.mp4', count: 3 }) });
        expect(res.statusCode).toBe(422);
        expect(res.json().error).toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/limit of 2 s/) });
        const pid = Number(await readFile(pidFile, 'utf8'));
        await sleep(200);
        expect(() => process.kill(pid, 0)).toThrow(); // the hung process is gone
        expect(worker.child.exitCode).toBeNull();
        expect(await readdir(path.join(t.config.dataDir, 'frames')).catch(() => [])).toEqual([]);
      } finally {
        await app.close();
        await worker.stop();
      }
    });

    it('a job whose ffmpeg needs more than VDEDUP_FFMPEG_MEMORY_MB fails with MEMORY_LIMIT, not retried; the worker carries on', async () => {
      const hd = path.join(t.config.dataDir, 'hd.mp4');
      await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=25', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', hd]);
      const workerEnv = { ...t.env, VDEDUP_ROOTS: t.config.dataDir, VDEDUP_FFMPEG_MEMORY_MB: '200', VDEDUP_WORKER_CONCURRENCY: '1' };
      const worker = await startWorker(workerEnv, '--queues', 'frames');
      // The API's own ffprobe runs without the small limit, so the job reaches the worker.
      const app = await buildApp({ ...loadConfig(workerEnv), ffmpegMemoryMb: 0 }, { logger: false });
      try {
        const res = await app.inject({ method: 'POST', url: '/v1/frames?wait=30', ...json({ path: hd, count: 2 }) });
        expect(res.statusCode).toBe(422);
        expect(res.json().error).toMatchObject({ code: 'MEMORY_LIMIT', message: expect.stringMatching(/200 MiB/) });
        expect(worker.child.exitCode).toBeNull();
      } finally {
        await app.close();
        await worker.stop();
      }
    });

    it('Redis restarts in the middle of a scan: the scan completes with the right report and the worker stays up', async () => {
      const port = await freePort();
      const redisDir = path.join(t.config.dataDir, 'redis');
      const media = path.join(t.config.dataDir, 'corpus');
      await mkdir(redisDir, { recursive: true });
      await mkdir(media, { recursive: true });
      // Enough decoding (5 batches, one worker, one job at a time) to restart Redis while it runs.
      // Content unrelated to the bench fixtures: testsrc2 with a hue shift was used here once, and
      // the exact path rightly calls it a near-duplicate of the bench's testsrc2.mp4.
      for (let i = 0; i < 4; i++) {
        await ffmpeg(['-f', 'lavfi', '-i', `gradients=size=480x270:rate=25:speed=0.05:seed=${i + 1}`, '-t', '150', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', path.join(media, `long-${i}.mp4`)]);
      }
      await copyFile(path.join(scanTrain, 'compilation.mp4'), path.join(media, 'compilation.mp4'));
      let redis = await startRedis(port, redisDir);
      const env = { ...t.env, REDIS_URL: redis.url, VDEDUP_ROOTS: [media, scanBench].join(path.delimiter), VDEDUP_SCAN_BATCH: '1', VDEDUP_WORKER_CONCURRENCY: '1' };
      const worker = await startWorker(env);
      const app = await buildApp(loadConfig(env), { logger: false });
      try {
        const res = await app.inject({ method: 'POST', url: '/v1/scans', ...json({ train: media, bench: scanBench }) });
        expect(res.statusCode).toBe(202);
        const { scanId } = res.json();
        // Wait for the first batch, then take Redis away for two seconds (a clean restart).
        for (let i = 0; i < 300; i++) {
          const s = await app.inject({ method: 'GET', url: `/v1/scans/${scanId}` });
          if (s.statusCode === 200 && s.json().batches.done >= 1) break;
          await sleep(50);
        }
        const before = (await app.inject({ method: 'GET', url: `/v1/scans/${scanId}` })).json();
        expect(before.state).not.toBe('completed');
        await redis.stop('SIGTERM');
        const down = await app.inject({ method: 'GET', url: `/v1/scans/${scanId}` });
        expect(down.statusCode).toBe(503);
        await sleep(2000);
        redis = await startRedis(port, redisDir);
        const restartedAt = performance.now();
        const status = await scanWhenDone(app, scanId, 120_000);
        expect(status.state).toBe('completed');
        console.log(`fault Redis restart: scan completed ${((performance.now() - restartedAt) / 1000).toFixed(1)} s after Redis came back (2 s down)`);
        const report = (await app.inject({ method: 'GET', url: `/v1/scans/${scanId}/report` })).json();
        expect(report.removed).toEqual(['compilation.mp4']);
        expect(report.errors).toEqual([]);
        expect(worker.child.exitCode).toBeNull();
        expect(worker.output()).toMatch(/worker error|ECONNREFUSED|Connection is closed/i);
        const verify = await runCli(['store', 'verify', '--cache-dir', t.config.dataDir]);
        expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      } finally {
        await app.close();
        await worker.stop();
        await redis.stop();
      }
    }, 120_000);
  });
});

