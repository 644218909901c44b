import { randomUUID } from 'node:crypto';
import { FlowProducer, Job, Queue, QueueEvents, type FlowJob, type JobsOptions, type JobType } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  defaultJobOptions,
  jobIds,
  QUEUE_NAMES,
  queueOfJobId,
  type CheckJob,
  type CollectionAddJob,
  type FramesJob,
  type QueueName,
  type ScanBatchJob,
  type ScanJob,
  type ScanResult,
} from './contract.js';
import { redisConnection } from './connection.js';
import { CollectionRegistry } from './collection-registry.js';
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

/** A job as the queues hold it, with its state: plain data (what BullMQ keeps of it, no live object). */
export interface JobRecord<Data = unknown, Result = unknown> {
  id: string;
  /** The queue BullMQ names (`queueOfJobId` tells it from the id too). */
  queueName: string;
  name: string;
  state: string;
  data: Data;
  progress: unknown;
  attemptsMade: number;
  /** When it was added (ms). */
  timestamp: number;
  finishedOn: number | undefined;
  /** The worker (host:pid) that ran its last attempt. */
  processedBy: string | undefined;
  /** Its result, once completed. */
  returnvalue: Result;
  failedReason: string | undefined;
}

/** A scan job and the counts of its flow's children (the batches), as BullMQ keeps them. */
export interface ScanRecord extends JobRecord<ScanJob, ScanResult> {
  children: { processed?: number; unprocessed?: number; failed?: number; ignored?: number };
}

/** A job just added, or joined (BullMQ then gives back this request's `data`, not the held job's). */
export interface QueuedJob<Data> {
  id: string;
  data: Data;
}

function recordOf<Data, Result>(job: Job, state: string): JobRecord<Data, Result> {
  return {
    id: job.id!,
    queueName: job.queueName,
    name: job.name,
    state,
    data: job.data as Data,
    progress: job.progress,
    attemptsMade: job.attemptsMade,
    timestamp: job.timestamp,
    finishedOn: job.finishedOn,
    processedBy: job.processedBy,
    returnvalue: job.returnvalue as Result,
    failedReason: job.failedReason,
  };
}

const queued = <Data>(job: Job): QueuedJob<Data> => ({ id: job.id!, data: job.data as Data });

/** The states a scan can be listed in. */
const SCAN_STATES: JobType[] = ['active', 'waiting', 'waiting-children', 'delayed', 'prioritized', 'completed', 'failed'];

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

  /** The BullMQ queue itself, for the queue dashboard (bull-board reads it directly); everything else reads plain records. */
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
  private async addIdempotent<Data extends object>(queue: QueueName, name: string, data: Data, jobId: string): Promise<QueuedJob<Data>> {
    return this.guard(async () => {
      const job = await this.queues[queue].add(name, data, { jobId });
      if (job.timestamp !== undefined && (await job.isFailed())) {
        await job.remove();
        return queued<Data>(await this.queues[queue].add(name, data, { jobId }));
      }
      return queued<Data>(job);
    });
  }

  /** The caller admits the request once (`admit('fingerprint')`): a benchmark's videos go in whole. */
  async addCollectionVideo(data: CollectionAddJob, key: string): Promise<QueuedJob<CollectionAddJob>> {
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

  /** The caller admits the request (`admit('check')`) before it reads the upload. */
  async addCheck(data: CheckJob, version: number): Promise<QueuedJob<CheckJob>> {
    return this.addIdempotent('check', 'check', data, jobIds.check(data.collection, version, data.settings.preset, data.key));
  }

  /** The caller admits the request (`admit('frames')`) before it reads the upload. */
  async addFrames(data: FramesJob): Promise<QueuedJob<FramesJob>> {
    return this.guard(async () => queued<FramesJob>(await this.queues.frames.add('frames', data, { jobId: jobIds.frames(randomUUID()) })));
  }

  /**
   * A scan as a flow: a parent job in the scan queue, and one child per batch of videos in the
   * fingerprint queue, so any number of workers (on any machines sharing the data volume) decode
   * in parallel. The parent runs once all children are done; a child that fails for good does not
   * block it (its videos are then fingerprinted by the parent, or listed as errors). Returns the
   * scan's id.
   */
  async addScan(data: ScanJob, batches: Array<ScanBatchJob['videos']>): Promise<string> {
    const scanUuid = randomUUID();
    const scanId = jobIds.scan(scanUuid);
    const children: FlowJob[] = batches.map((videos, i) => ({
      name: 'scan-batch',
      queueName: 'fingerprint',
      data: { scanId, videos } satisfies ScanBatchJob,
      opts: { ...this.jobOptions, jobId: jobIds.scanBatch(scanUuid, i), ignoreDependencyOnFailure: true },
    }));
    await this.guard(() => this.flows.add({ name: 'scan', queueName: 'scan', data, opts: { ...this.jobOptions, jobId: scanId }, children }));
    return scanId;
  }

  private async getJob(id: string): Promise<Job | undefined> {
    const name = queueOfJobId(id);
    if (name === undefined) return undefined;
    return this.guard(async () => (await this.queues[name].getJob(id)) ?? undefined);
  }

  /**
   * A job and its state, read consistently. BullMQ keeps them apart (the job's hash, the state's
   * lists): a job read just before it finished, with its state read just after, shows a finished
   * state without its result or finish time. Such a job is read again (it was seen as
   * `{"state":"completed","result":null}` under load). Undefined when it was removed in between.
   */
  async snapshot<Data = unknown, Result = unknown>(job: Job): Promise<JobRecord<Data, Result> | undefined> {
    const state = await this.guard(() => job.getState());
    if ((state !== 'completed' && state !== 'failed') || job.finishedOn !== undefined) return recordOf(job, state);
    const again = await this.getJob(job.id!);
    return again === undefined ? undefined : recordOf(again, await this.guard(() => again.getState()));
  }

  /** The job of this id with its state; undefined when there is none (unknown, or removed after the retention time). */
  async readJob<Data = unknown, Result = unknown>(id: string): Promise<JobRecord<Data, Result> | undefined> {
    const job = await this.getJob(id);
    return job === undefined ? undefined : this.snapshot<Data, Result>(job);
  }

  private async scanRecord(job: Job): Promise<ScanRecord | undefined> {
    const record = await this.snapshot<ScanJob, ScanResult>(job);
    return record === undefined ? undefined : { ...record, children: await this.guard(() => job.getDependenciesCount()) };
  }

  /** The scan of this id with its batches' counts; undefined when there is none. */
  async readScan(id: string): Promise<ScanRecord | undefined> {
    const job = await this.getJob(id);
    return job === undefined ? undefined : this.scanRecord(job);
  }

  /** The newest `limit` scans, newest first. */
  async listScans(limit: number): Promise<ScanRecord[]> {
    const jobs = await this.guard(() => this.queues.scan.getJobs(SCAN_STATES, 0, limit - 1));
    const newest = jobs.filter((j) => j?.id !== undefined).sort((a, b) => b.timestamp - a.timestamp).slice(0, limit);
    const records = await Promise.all(newest.map((j) => this.scanRecord(j)));
    return records.filter((r) => r !== undefined);
  }

  /**
   * Failed jobs of a queue, newest first, from `start` to `end` (inclusive); undefined where a job
   * was removed while the page was read.
   */
  async failedJobs(queue: QueueName, start: number, end: number): Promise<Array<JobRecord | undefined>> {
    const page = await this.queues[queue].getJobs(['failed'], start, end, false);
    return page.map((job) => (job === undefined ? undefined : recordOf(job, 'failed')));
  }

  /** A job's state ('unknown' when there is no such job). */
  async state(id: string): Promise<string> {
    const name = queueOfJobId(id);
    if (name === undefined) return 'unknown';
    return this.guard(() => this.queues[name].getJobState(id));
  }

  /** Wait up to `seconds` for a job to finish; true when it did (completed or failed). */
  async waitFor(id: string, seconds: number): Promise<boolean> {
    if (seconds <= 0) return false;
    const job = await this.getJob(id);
    if (job === undefined) return false;
    const name = queueOfJobId(id)!;
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
