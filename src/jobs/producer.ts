import { randomUUID } from 'node:crypto';
import { FlowProducer, Job, Queue, QueueEvents, type FlowJob, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  COLLECTION_PREFIX,
  defaultJobOptions,
  jobIds,
  QUEUE_NAMES,
  type CheckJob,
  type CollectionAddJob,
  type FramesJob,
  type QueueName,
  type ScanBatchJob,
  type ScanJob,
  type ScanRef,
} from './contract.js';
import { redisConnection } from './connection.js';
import { CollectionRegistry } from './collection-registry.js';
import { readVideoSource, type VideoItem } from '../scan/inputs.js';
import { presetByName } from '../scan/presets.js';
import type { ServiceConfig } from '../config/service.js';

/** Redis is not answering: the API says 503 and keeps running; ioredis reconnects by itself. */
export class RedisUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('Redis is unreachable: queued work is unavailable until it is back', { cause });
    this.name = 'RedisUnavailableError';
  }
}

/** An ioredis failure that means "Redis is not reachable" (not a bad command). */
export function isRedisConnectionError(err: unknown): boolean {
  const m = err instanceof Error ? err.message : '';
  return /Stream isn't writeable|Connection is closed|ECONNREFUSED|MaxRetriesPerRequest|reached the max retries/i.test(m);
}

/** A queue already holds VDEDUP_MAX_QUEUE_DEPTH waiting jobs: the API says 429 instead of piling up work. */
export class QueueFullError extends Error {
  constructor(
    readonly queue: QueueName,
    readonly depth: number,
  ) {
    super(`the ${queue} queue holds ${depth} waiting jobs (VDEDUP_MAX_QUEUE_DEPTH): try again later`);
    this.name = 'QueueFullError';
  }
}

/** Which queue a job id belongs to (ids carry their kind; see jobIds). */
export function queueOfJobId(id: string): QueueName | undefined {
  if (id.startsWith('add.') || id.startsWith('batch.')) return 'fingerprint';
  if (id.startsWith('check.')) return 'check';
  if (id.startsWith('scan.')) return 'scan';
  if (id.startsWith('frames.')) return 'frames';
  return undefined;
}

/**
 * The API's side of the queues: adds jobs and flows, reads their state. Holds one fail-fast
 * connection for commands and, lazily, blocking ones for `?wait=` (QueueEvents).
 */
export class Producer {
  readonly redis: Redis;
  readonly registry: CollectionRegistry;
  private readonly queues: Record<QueueName, Queue>;
  private readonly flows: FlowProducer;
  private readonly events = new Map<QueueName, QueueEvents>();
  private readonly eventConnections: Redis[] = [];
  private readonly jobOptions: JobsOptions;

  constructor(private readonly config: ServiceConfig) {
    this.redis = redisConnection(config, 'producer');
    this.registry = new CollectionRegistry(this.redis, config.prefix);
    this.jobOptions = defaultJobOptions(config);
    const queue = (name: QueueName) => {
      const q = new Queue(name, { connection: this.redis, prefix: config.prefix, defaultJobOptions: this.jobOptions });
      q.on('error', () => undefined);
      return q;
    };
    this.queues = { fingerprint: queue('fingerprint'), check: queue('check'), scan: queue('scan'), frames: queue('frames') };
    this.flows = new FlowProducer({ connection: this.redis, prefix: config.prefix });
    this.flows.on('error', () => undefined);
  }

  get redisReady(): boolean {
    return this.redis.status === 'ready';
  }

  /** Resolves true once the connection is ready, false after `ms` (commands are not queued offline). */
  private async readyWithin(ms: number): Promise<boolean> {
    if (this.redisReady) return true;
    if (this.redis.status === 'end') return false;
    return new Promise((resolve) => {
      const onReady = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.redis.off('ready', onReady);
        resolve(this.redisReady);
      }, ms);
      this.redis.once('ready', onReady);
    });
  }

  /**
   * Run a Redis-backed step; a connection failure becomes RedisUnavailableError (503). A
   * connection still (re)connecting gets a second to come up, so the first requests after start
   * or a Redis restart do not fail needlessly.
   */
  async guard<T>(fn: () => Promise<T>): Promise<T> {
    if (!(await this.readyWithin(1000))) throw new RedisUnavailableError();
    try {
      return await fn();
    } catch (err) {
      if (!this.redisReady || isRedisConnectionError(err)) throw new RedisUnavailableError(err);
      throw err;
    }
  }

  async ping(): Promise<number> {
    const t = performance.now();
    await this.guard(() => this.redis.ping());
    return Math.round((performance.now() - t) * 10) / 10;
  }

  async counts(): Promise<Record<QueueName, Record<string, number>>> {
    return this.guard(async () => {
      const out = {} as Record<QueueName, Record<string, number>>;
      for (const name of QUEUE_NAMES) {
        out[name] = await this.queues[name].getJobCounts('waiting', 'active', 'delayed', 'waiting-children', 'completed', 'failed');
      }
      return out;
    });
  }

  queue(name: QueueName): Queue {
    return this.queues[name];
  }

  /** Backpressure: refuse `adding` more jobs to a queue whose backlog is at the bound. */
  async admit(queue: QueueName, adding = 1): Promise<void> {
    const depth = await this.guard(() => this.queues[queue].getJobCountByTypes('waiting', 'prioritized', 'delayed'));
    if (depth + adding > this.config.maxQueueDepth) throw new QueueFullError(queue, depth);
  }

  /**
   * Add a job under an id derived from its content: a request for work already queued, running
   * or done joins that job. A failed one is replaced, so a retry after a fix is not stuck with
   * the old failure for the retention time.
   */
  private async addIdempotent(queue: QueueName, name: string, data: object, jobId: string): Promise<Job> {
    return this.guard(async () => {
      const job = await this.queues[queue].add(name, data, { jobId });
      if (job.timestamp !== undefined && (await job.isFailed())) {
        await job.remove();
        return this.queues[queue].add(name, data, { jobId });
      }
      return job;
    });
  }

  /** The caller admits the request once (`admit('fingerprint')`): a benchmark's videos go in whole. */
  async addCollectionVideo(data: CollectionAddJob, key: string): Promise<Job> {
    return this.addIdempotent('fingerprint', 'collection-add', data, jobIds.collectionAdd(data.collection, key));
  }

  /**
   * Forget the finished add jobs of removed members, so adding the same video again fingerprints
   * and adds it afresh instead of joining the old job. A job still running is left alone (it is
   * not a member yet: it joins the collection when it finishes).
   */
  async forgetCollectionAdds(collection: string, keys: string[]): Promise<void> {
    await this.guard(async () => {
      for (const key of keys) {
        const job = await this.queues.fingerprint.getJob(jobIds.collectionAdd(collection, key));
        if (job !== undefined && (await job.isCompleted())) await job.remove().catch(() => undefined);
      }
    });
  }

  /** The route admits the request (`admit('check')`) before it reads the upload. */
  async addCheck(data: CheckJob, version: number): Promise<Job> {
    return this.addIdempotent('check', 'check', data, jobIds.check(data.collection, version, data.preset, data.key));
  }

  /** The route admits the request (`admit('frames')`) before it reads the upload. */
  async addFrames(data: FramesJob): Promise<Job> {
    return this.guard(() => this.queues.frames.add('frames', data, { jobId: `frames.${randomUUID()}` }));
  }

  /**
   * A scan as a flow: a parent job in the scan queue, and one child per batch of videos in the
   * fingerprint queue, so any number of workers (on any machines sharing the data volume) decode
   * in parallel. The parent runs once all children are done; a child that fails for good does not
   * block it (its videos are then fingerprinted by the parent, or listed as errors).
   */
  async addScan(spec: { train: string; bench: string; preset: string; exact: boolean }): Promise<{ scanId: string; videos: number }> {
    // A collection's members are fingerprinted already (their fingerprints are in Redis): only path sides are decoded.
    const read = (s: string) => (s.startsWith(COLLECTION_PREFIX) ? { items: [] as VideoItem[], warnings: [] as string[] } : readVideoSource(s));
    const [train, bench] = await Promise.all([read(spec.train), read(spec.bench)]);
    // Each file once (a file on both sides is decoded once), with the sides and items it stands for.
    const byPath = new Map<string, ScanRef[]>();
    const idOnly: ScanRef[] = [];
    for (const [side, items] of [['bench', bench.items], ['train', train.items]] as const) {
      for (const item of items) {
        if (item.path === undefined) idOnly.push({ side, item });
        else byPath.set(item.path, [...(byPath.get(item.path) ?? []), { side, item }]);
      }
    }
    // A benchmark video is fingerprinted at the preset's phases; a training video at 1 fps (a file
    // on both sides once, at the phases: its 1 fps frames are among them).
    const phases = presetByName(spec.preset).benchPhases;
    const videos = [...byPath].map(([p, refs]) => ({ path: p, refs, fps: refs.some((r) => r.side === 'bench') ? phases : 1 }));
    // A scan is admitted while the fingerprint backlog is under the bound (a corpus-sized scan may
    // itself add more batches than the bound: it is one request, not a flood).
    await this.admit('fingerprint');
    const scanUuid = randomUUID();
    const scanId = `scan.${scanUuid}`;
    const children: FlowJob[] = [];
    for (let i = 0; i * this.config.scanBatch < videos.length; i++) {
      const data: ScanBatchJob = { scanId, videos: videos.slice(i * this.config.scanBatch, (i + 1) * this.config.scanBatch) };
      children.push({
        name: 'scan-batch',
        queueName: 'fingerprint',
        data,
        opts: { ...this.jobOptions, jobId: `batch.${scanUuid}.${i}`, ignoreDependencyOnFailure: true },
      });
    }
    const data: ScanJob = { ...spec, videos: videos.length, idOnly, warnings: { train: train.warnings, bench: bench.warnings } };
    await this.guard(() => this.flows.add({ name: 'scan', queueName: 'scan', data, opts: { ...this.jobOptions, jobId: scanId }, children }));
    return { scanId, videos: videos.length };
  }

  async getJob(id: string): Promise<Job | undefined> {
    const name = queueOfJobId(id);
    if (name === undefined) return undefined;
    return this.guard(async () => (await this.queues[name].getJob(id)) ?? undefined);
  }

  /** Wait up to `seconds` for a job to finish; true when it did (completed or failed). */
  async waitFor(job: Job, seconds: number): Promise<boolean> {
    if (seconds <= 0) return false;
    const name = queueOfJobId(job.id!)!;
    let events = this.events.get(name);
    if (events === undefined) {
      const connection = redisConnection(this.config, 'blocking');
      this.eventConnections.push(connection);
      events = new QueueEvents(name, { connection, prefix: this.config.prefix });
      events.on('error', () => undefined);
      this.events.set(name, events);
      await events.waitUntilReady();
    }
    try {
      await job.waitUntilFinished(events, seconds * 1000);
      return true;
    } catch {
      // A failed job has finished too (and its reason may well mention a timeout): ask its state.
      const state = await this.guard(() => job.getState());
      return state === 'completed' || state === 'failed';
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.events.values()].map((e) => e.close()));
    for (const c of this.eventConnections) c.disconnect();
    await Promise.allSettled([...Object.values(this.queues).map((q) => q.close()), this.flows.close()]);
    this.redis.disconnect();
  }
}
