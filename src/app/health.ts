import type { RequestDeps } from './deps.js';
import { binaryVersionLine, ffmpegBinary, ffprobeBinary, type ResolvedBinary } from '../media/binaries.js';
import { mediaMemoryLimit } from '../media/process.js';
import { native } from '../native/binding.js';
import { dataDirState, workersKey } from '../config/data-dir.js';
import { redactUrl } from '../config/service.js';

type Tool = { ok: boolean; detail: string; path?: string; source?: string };

interface DataDirHealth {
  ok: boolean;
  detail: string;
  workers: Array<{ name: string; shared: boolean | null; detail: string }>;
}

/** What GET /health answers: each part's state, and whether all are well (`status`). */
export interface Health {
  status: 'ok' | 'degraded';
  version: string;
  redis: { ok: boolean; detail: string; latencyMs?: number };
  ffmpeg: Tool;
  ffprobe: Tool;
  native: { ok: boolean; detail: string };
  queues: Record<string, Record<string, number>> | null;
  dataDir: DataDirHealth;
  limits: { ffmpegMemory: string; jobTimeoutSeconds: number; maxUploadBytes: number; maxQueueDepth: number; rateLimitPerMinute: number };
}

function describe(resolve: () => ResolvedBinary): Tool {
  try {
    const bin = resolve();
    return { ok: true, detail: binaryVersionLine(bin), path: bin.path, source: bin.source };
  } catch (err) {
    return { ok: false, detail: (err as Error).message.split('\n')[0] ?? 'unavailable' };
  }
}

function describeNative(): { ok: boolean; detail: string } {
  try {
    return { ok: true, detail: `vdedup-core ${native().nativeVersion()}, frame scan ${native().scanKernel()}` };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
}

/** Workers that have not reported for this long are gone (they report every 30 s). */
const WORKER_FRESH_MS = 90_000;

/** The API's own view of the data dir marker and what each live worker last reported; paths only for `trusted` callers. */
async function dataDirHealth(deps: RequestDeps, trusted: boolean): Promise<DataDirHealth> {
  const redis = deps.producer.redis;
  const own = await dataDirState(redis, deps.config);
  const now = Date.now();
  const workers = Object.entries(await redis.hgetall(workersKey(deps.config)))
    .map(([name, raw]) => ({ name, ...(JSON.parse(raw) as { shared: boolean | null; detail: string; at: number }) }))
    .filter((w) => now - w.at < WORKER_FRESH_MS)
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((w) => ({ name: w.name, shared: w.shared, detail: trusted ? w.detail : w.shared === false ? 'does not share the data dir' : 'ok' }));
  const notShared = workers.filter((w) => w.shared === false).length;
  const detail =
    own.shared === false
      ? trusted
        ? own.detail
        : 'this API does not share the data dir with the API that published the marker'
      : notShared > 0
        ? `${notShared} of ${workers.length} workers do not share the API's data dir: their jobs on uploads and frame extraction fail with DATA_DIR_NOT_SHARED`
        : `${workers.length} workers share the API's data dir`;
  return { ok: own.shared !== false && notShared === 0, detail, workers };
}

/**
 * The service's health: Redis, ffmpeg/ffprobe (which binary), the native module, queue depths,
 * the data dir shared with the workers, and the limits in force. Where Redis is, and the data
 * dir's paths, are said only to `trusted` callers (holding the key, when there is one).
 */
export class ServiceHealth {
  /** Binaries and the native module do not change while the process runs: looked for once found. */
  private tools: { ffmpeg: Tool; ffprobe: Tool; native: { ok: boolean; detail: string } } | undefined;

  constructor(private readonly deps: RequestDeps & { version: string }) {}

  async report(trusted: boolean): Promise<Health> {
    const { config, producer } = this.deps;
    const looked = this.tools ?? { ffmpeg: describe(ffmpegBinary), ffprobe: describe(ffprobeBinary), native: describeNative() };
    // A binary found stays found; a missing one is looked for again (it may be installed meanwhile).
    if (looked.ffmpeg.ok && looked.ffprobe.ok && looked.native.ok) this.tools = looked;
    let redis: Health['redis'];
    let queues: Health['queues'] = null;
    let dataDir: DataDirHealth = { ok: true, detail: 'unknown while Redis is unreachable', workers: [] };
    try {
      const latencyMs = await producer.ping();
      queues = await producer.counts();
      redis = { ok: true, detail: trusted ? redactUrl(config.redisUrl) : 'reachable', latencyMs };
      dataDir = await dataDirHealth(this.deps, trusted);
    } catch (err) {
      redis = { ok: false, detail: (err as Error).message };
    }
    const ok = redis.ok && looked.ffmpeg.ok && looked.ffprobe.ok && looked.native.ok && dataDir.ok;
    const limits = {
      ffmpegMemory: mediaMemoryLimit(),
      jobTimeoutSeconds: config.jobTimeoutMs / 1000,
      maxUploadBytes: config.maxUploadBytes,
      maxQueueDepth: config.maxQueueDepth,
      rateLimitPerMinute: config.rateLimitPerMinute,
    };
    return { status: ok ? 'ok' : 'degraded', version: this.deps.version, redis, ...looked, queues, dataDir, limits };
  }
}
