import os from 'node:os';
import path from 'node:path';
import { defaultCacheDir } from '../fingerprint/store.js';
import { parseScanKernel, type ScanKernel } from '../scan/settings.js';
import { VdedupError } from '../errors.js';

/**
 * Settings shared by `vdedup serve` and `vdedup worker`, read from the environment once at
 * start. API and workers on several machines must agree on REDIS_URL, VDEDUP_QUEUE_PREFIX and
 * VDEDUP_DATA_DIR (a volume they all mount: uploads, fingerprints and frames live there).
 */
export interface ServiceConfig {
  redisUrl: string;
  /** Redis key prefix of every queue and collection; lets several deployments share one Redis. */
  prefix: string;
  host: string;
  port: number;
  /** Fingerprint store, uploads and extracted frames. */
  dataDir: string;
  /** Directories server-side `path` inputs may come from (realpath'd); none: path inputs refused. */
  roots: string[];
  /** Bearer key required on every route but /health and /docs when set. */
  apiKey: string | undefined;
  maxUploadBytes: number;
  /** Finished jobs (and their frames) are kept this long, then removed. */
  retentionSeconds: number;
  /** Jobs one worker process runs at once (each runs one single-threaded ffmpeg). */
  concurrency: number;
  /** Attempts per job for transient failures (bad input fails at once). */
  attempts: number;
  /** BullMQ lock: a worker that stops renewing it for this long (killed, hung) loses the job. */
  lockDurationMs: number;
  stalledIntervalMs: number;
  /** Videos fingerprinted per child job of a scan. */
  scanBatch: number;
  /** Longest `?wait=` a request may ask for. */
  maxWaitSeconds: number;
  defaultCollection: string;
  /** Backpressure: a queue with this many jobs waiting refuses new ones (429) instead of growing. */
  maxQueueDepth: number;
  /** Requests per minute per API key (or client address without a key); 0: no limit. */
  rateLimitPerMinute: number;
  /** Origins allowed to call the API from a browser; none: CORS off. */
  corsOrigins: string[];
  /** A job running longer than this is stopped and failed (no retry): hung or absurd input. */
  jobTimeoutMs: number;
  /** Memory cap of every ffmpeg/ffprobe the service runs (MiB; 0: none). */
  ffmpegMemoryMb: number;
  /** pino level of the API's and the workers' JSON logs. */
  logLevel: string;
  /** The frame-scan loop workers force for checks and scans (VDEDUP_SCAN_KERNEL); none: the CPU's fastest. */
  scanKernel: ScanKernel | undefined;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new VdedupError('INVALID_ARGUMENT', `${name} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const dataDir = path.resolve(env.VDEDUP_DATA_DIR || env.VDEDUP_CACHE_DIR || defaultCacheDir());
  const roots = (env.VDEDUP_ROOTS ?? '')
    .split(path.delimiter)
    .map((r) => r.trim())
    .filter((r) => r !== '')
    .map((r) => path.resolve(r));
  const prefix = env.VDEDUP_QUEUE_PREFIX || 'vdedup';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(prefix)) throw new VdedupError('INVALID_ARGUMENT', `VDEDUP_QUEUE_PREFIX must be 1-64 of [A-Za-z0-9_-], got "${prefix}"`);
  return {
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    prefix,
    host: env.HOST || '0.0.0.0',
    port: int(env, 'PORT', 3000),
    dataDir,
    roots,
    apiKey: env.VDEDUP_API_KEY || undefined,
    maxUploadBytes: int(env, 'VDEDUP_MAX_UPLOAD_BYTES', 4 * 1024 ** 3, 1),
    retentionSeconds: int(env, 'VDEDUP_RETENTION_SECONDS', 24 * 3600, 1),
    concurrency: int(env, 'VDEDUP_WORKER_CONCURRENCY', Math.max(1, os.availableParallelism()), 1),
    attempts: int(env, 'VDEDUP_JOB_ATTEMPTS', 3, 1),
    lockDurationMs: int(env, 'VDEDUP_LOCK_MS', 30_000, 1000),
    stalledIntervalMs: int(env, 'VDEDUP_STALLED_INTERVAL_MS', 30_000, 1000),
    scanBatch: int(env, 'VDEDUP_SCAN_BATCH', 8, 1),
    maxWaitSeconds: int(env, 'VDEDUP_MAX_WAIT_SECONDS', 600, 0),
    defaultCollection: env.VDEDUP_DEFAULT_COLLECTION || 'lmms-eval',
    maxQueueDepth: int(env, 'VDEDUP_MAX_QUEUE_DEPTH', 10_000, 1),
    rateLimitPerMinute: int(env, 'VDEDUP_RATE_LIMIT', 600, 0),
    corsOrigins: (env.VDEDUP_CORS_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter((o) => o !== ''),
    jobTimeoutMs: int(env, 'VDEDUP_JOB_TIMEOUT_SECONDS', 6 * 3600, 1) * 1000,
    ffmpegMemoryMb: int(env, 'VDEDUP_FFMPEG_MEMORY_MB', 4096, 0),
    logLevel: env.LOG_LEVEL ?? 'info',
    scanKernel: parseScanKernel(env.VDEDUP_SCAN_KERNEL, 'VDEDUP_SCAN_KERNEL'),
  };
}

/** A Redis URL fit for logs and /health: its credentials masked. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
