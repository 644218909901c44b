import { readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue, UnrecoverableError, Worker, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import { redisConnection } from '../jobs/connection.js';
import type { QueueName } from '../jobs/contract.js';
import { checkProcessor, fingerprintProcessor, framesProcessor, scanProcessor, timedOut, type ProcessorDeps } from './processors.js';
import { CollectionMatchers } from './collection-matchers.js';
import { fingerprintOnce } from './fingerprint-once.js';
import { CollectionRegistry } from '../jobs/collection-registry.js';
import { FingerprintStore } from '../fingerprint/store.js';
import { setMediaMemoryLimit } from '../media/process.js';
import { redactUrl, type ServiceConfig } from '../config/service.js';
import { dataDirState, workersKey, type DataDirState } from '../config/data-dir.js';
import type { Redis } from 'ioredis';

export interface RunningWorkers {
  workers: Worker[];
  /**
   * Stop taking jobs and let running ones finish for up to `graceMs`; then stop hard: the jobs
   * still running stay locked until their lock expires and another worker takes them over.
   */
  close(graceMs?: number): Promise<void>;
}

/** Extracted frames and evidence strips go when their job's retention ends: swept hourly. */
async function sweepExpired(config: ServiceConfig, logger: Logger): Promise<void> {
  const cutoff = Date.now() - config.retentionSeconds * 1000;
  for (const kind of ['frames', 'reports']) {
    const root = path.join(config.dataDir, kind);
    const names = await readdir(root).catch(() => [] as string[]);
    for (const name of names) {
      const s = await stat(path.join(root, name)).catch(() => undefined);
      if (s !== undefined && s.mtimeMs < cutoff) {
        await rm(path.join(root, name), { recursive: true, force: true });
        logger.info({ dir: `${kind}/${name}` }, 'removed expired job output');
      }
    }
  }
}

/** How long a worker trusts its last look at the data dir marker. */
const DATA_DIR_TTL_MS = 5_000;
/** How often a worker tells the API (through Redis) whether it shares the data dir; /health drops older news. */
export const DATA_DIR_REPORT_MS = 30_000;

/**
 * This worker's view of the data dir marker: looked at when a job needs it (cached briefly) and
 * published for the API's /health every DATA_DIR_REPORT_MS.
 */
function dataDirWatch(redis: Redis, config: ServiceConfig, name: string, logger: Logger) {
  let last: { at: number; state: Promise<DataDirState> } | undefined;
  let said: boolean | null | undefined;
  const state = (): Promise<DataDirState> => {
    if (last === undefined || Date.now() - last.at > DATA_DIR_TTL_MS) {
      const looked = dataDirState(redis, config).then((s) => {
        // Said once per change: a volume mounted (or lost) while the worker runs is noticed.
        if (said !== undefined && said !== s.shared) logger.warn({ dataDirShared: s.shared }, s.detail);
        said = s.shared;
        return s;
      });
      last = { at: Date.now(), state: looked };
      looked.catch(() => (last = undefined));
    }
    return last.state;
  };
  const report = async () => {
    const s = await state();
    await redis.hset(workersKey(config), name, JSON.stringify({ shared: s.shared, detail: s.detail, at: Date.now() }));
  };
  void report().catch(() => undefined);
  const timer = setInterval(() => void report().catch(() => undefined), DATA_DIR_REPORT_MS);
  timer.unref();
  return {
    state,
    async stop() {
      clearInterval(timer);
      // Redis may be away at shutdown: the entry then ages out of /health by itself.
      const gone = redis.hdel(workersKey(config), name).catch(() => undefined);
      await Promise.race([gone, new Promise((r) => setTimeout(r, 1000).unref())]);
    },
  };
}

export async function startWorkers(
  config: ServiceConfig,
  logger: Logger,
  queues: readonly QueueName[] = ['fingerprint', 'check', 'scan', 'frames'],
): Promise<RunningWorkers> {
  setMediaMemoryLimit(config.ffmpegMemoryMb);
  const redis = redisConnection(config, 'blocking');
  const registry = new CollectionRegistry(redis, config.prefix);
  const store = new FingerprintStore(config.dataDir);
  const lock = { store, redis, prefix: config.prefix, lockMs: config.lockDurationMs };
  const fingerprint: ProcessorDeps['fingerprint'] = (file, options) => fingerprintOnce(file, lock, options);
  const matchers = new CollectionMatchers(registry, store, (p, fps, options) => fingerprint(p, { ...options, fps }), logger);
  const fingerprintQueue = new Queue('fingerprint', { connection: redis, prefix: config.prefix });
  fingerprintQueue.on('error', () => undefined);
  const name = `${os.hostname()}:${process.pid}`;
  const dataDir = dataDirWatch(redis, config, name, logger);
  const deps: ProcessorDeps = { config, store, registry, fingerprint, matchers, fingerprintQueue, dataDir: dataDir.state };
  // Every job runs under a time limit: a hung or absurd input cannot hold a worker for ever.
  const limited =
    (p: Processor): Processor =>
    async (job, token, signal) => {
      const limit = AbortSignal.timeout(config.jobTimeoutMs);
      const combined = signal === undefined ? limit : AbortSignal.any([signal, limit]);
      try {
        return await p(job, token, combined);
      } catch (err) {
        if (timedOut(combined)) {
          throw new UnrecoverableError(`TIMEOUT: the job ran longer than its limit of ${config.jobTimeoutMs / 1000} s (VDEDUP_JOB_TIMEOUT_SECONDS)`);
        }
        throw err;
      }
    };
  const processors: Record<QueueName, Processor> = {
    fingerprint: limited(fingerprintProcessor(deps) as Processor),
    check: limited(checkProcessor(deps) as Processor),
    scan: limited(scanProcessor(deps) as Processor),
    frames: limited(framesProcessor(deps) as Processor),
  };
  // While Redis is away every queue's connection fails on every reconnect attempt: one line per
  // distinct error per 30 s, not hundreds.
  const lastSaid = new Map<string, number>();
  const sayOnce = (key: string, say: () => void) => {
    const now = Date.now();
    if ((lastSaid.get(key) ?? 0) + 30_000 > now) return;
    lastSaid.set(key, now);
    say();
  };
  const waiting = setTimeout(() => {
    if (redis.status !== 'ready') logger.warn({ redis: redactUrl(config.redisUrl) }, 'Redis is not answering: waiting for it (jobs start once it is back)');
  }, 2000);
  const workers = queues.map((queue) => {
    const worker = new Worker(queue, processors[queue], {
      connection: redis,
      prefix: config.prefix,
      name,
      // A scan's matching step is light next to its children's decoding: one at a time.
      concurrency: queue === 'scan' ? 1 : config.concurrency,
      lockDuration: config.lockDurationMs,
      stalledInterval: config.stalledIntervalMs,
      // A job whose worker died is handed to another worker twice before it is failed.
      maxStalledCount: 2,
    });
    worker.on('active', (job) => logger.info({ queue, jobId: job.id, name: job.name }, 'job started'));
    worker.on('completed', (job) => logger.info({ queue, jobId: job.id }, 'job completed'));
    worker.on('failed', (job, err) => logger.warn({ queue, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed'));
    worker.on('stalled', (jobId) => logger.warn({ queue, jobId }, 'job stalled (its worker stopped); handed to another worker'));
    worker.on('error', (err) => sayOnce(err.message, () => logger.error({ queue, err: err.message }, 'worker error')));
    return worker;
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  clearTimeout(waiting);
  void sweepExpired(config, logger);
  const sweeper = setInterval(() => void sweepExpired(config, logger), 3600_000);
  sweeper.unref();
  const shared = await dataDir.state();
  if (shared.shared === false) logger.error({ dataDir: config.dataDir }, `${shared.detail}: jobs on uploads and frame extraction will be refused (DATA_DIR_NOT_SHARED)`);
  logger.info(
    { queues, concurrency: config.concurrency, name, redis: redactUrl(config.redisUrl), prefix: config.prefix, dataDirShared: shared.shared },
    'workers ready',
  );
  return {
    workers,
    async close(graceMs = 30_000) {
      clearInterval(sweeper);
      await dataDir.stop();
      const graceful = Promise.all(workers.map((w) => w.close()));
      const timedOut = await Promise.race([graceful.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref())]);
      if (timedOut) {
        logger.warn({ graceMs }, 'jobs still running after the grace period: stopping; another worker takes them over when their lock expires');
        await Promise.all(workers.map((w) => w.close(true)));
      }
      await fingerprintQueue.close().catch(() => undefined);
      redis.disconnect();
    },
  };
}
