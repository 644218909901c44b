import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { fingerprintOnce } from './fingerprint-once.js';
import type {
  CheckJob,
  CheckResult,
  CollectionAddJob,
  CollectionAddResult,
  FramesJob,
  FramesResult,
  ScanBatchJob,
  ScanBatchResult,
  ScanJob,
  ScanResult,
  VideoRef,
} from './jobs.js';
import { COLLECTION_PREFIX } from './jobs.js';
import { CollectionMatchers, CollectionRegistry } from '../decontam/collections.js';
import { presetByName } from '../decontam/presets.js';
import { evidenceOf, runScan, toMatch, type PreparedSide } from '../decontam/scan.js';
import type { VideoItem, VideoSource } from '../decontam/inputs.js';
import type { Fingerprint } from '../fingerprint/fingerprint.js';
import type { FingerprintStore } from '../fingerprint/store.js';
import { isVdedupError, type ErrorCode } from '../errors.js';
import type { ServiceConfig } from '../service/config.js';

export interface ProcessorDeps {
  config: ServiceConfig;
  store: FingerprintStore;
  redis: Redis;
  registry: CollectionRegistry;
  matchers: CollectionMatchers;
  logger: Logger;
}

/**
 * Failures that another attempt cannot fix: the input is bad. Everything else (ffmpeg killed
 * for lack of memory, Redis away, a worker shut down mid-job) is retried with backoff.
 */
const BAD_INPUT: ReadonlySet<ErrorCode> = new Set([
  'FILE_NOT_FOUND',
  'NOT_A_FILE',
  'EMPTY_FILE',
  'INVALID_MEDIA',
  'NO_VIDEO_STREAM',
  'TRUNCATED_MEDIA',
  'NO_FRAMES',
  'INVALID_ARGUMENT',
  'TIMEOUT',
  'MEMORY_LIMIT',
]);

export function isBadInputCode(code: string): boolean {
  return BAD_INPUT.has(code as ErrorCode);
}

export function isBadInput(err: unknown): boolean {
  return isVdedupError(err) && BAD_INPUT.has(err.code);
}

/** A job's failure as BullMQ stores it: "CODE: message", parsed back by `errorOfJob`. */
function asJobError(err: unknown): Error {
  if (isVdedupError(err)) {
    const text = `${err.code}: ${err.oneLine()}`;
    return BAD_INPUT.has(err.code) ? new UnrecoverableError(text) : new Error(text);
  }
  return err instanceof Error ? err : new Error(String(err));
}

export function errorOfJob(failedReason: string | undefined): { code: string; message: string } {
  const m = /^([A-Z][A-Z_]+): ([\s\S]*)$/.exec(failedReason ?? '');
  return m === null ? { code: 'JOB_FAILED', message: failedReason || 'the job failed' } : { code: m[1]!, message: m[2]! };
}

/** The job's own time limit (VDEDUP_JOB_TIMEOUT_SECONDS) fired, as opposed to a worker shutdown. */
export function timedOut(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && (signal.reason as { name?: string } | undefined)?.name === 'TimeoutError';
}

/** Uploads are deleted once no attempt will read them again (done, bad input, timed out, or out of attempts). */
async function withUpload<T>(job: Job, video: VideoRef, signal: AbortSignal | undefined, body: () => Promise<T>): Promise<T> {
  let finished = false;
  try {
    const r = await body();
    finished = true;
    return r;
  } catch (err) {
    finished = isBadInput(err) || timedOut(signal) || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    // An upload is named by the client's file name in errors, not by where the server keeps it.
    const named = video.upload && isVdedupError(err) ? err.asUpload(video.path, video.name) : err;
    throw asJobError(named);
  } finally {
    if (finished && video.upload) await rm(path.dirname(video.path), { recursive: true, force: true });
  }
}

const progressThrottle = () => {
  let last = 0;
  return (fn: () => Promise<unknown>) => {
    const now = Date.now();
    if (now - last < 500) return;
    last = now;
    void fn().catch(() => undefined);
  };
};

const lockDeps = (d: ProcessorDeps) => ({ store: d.store, redis: d.redis, prefix: d.config.prefix, lockMs: d.config.lockDurationMs });

export function fingerprintProcessor(deps: ProcessorDeps) {
  return async (job: Job, _token?: string, signal?: AbortSignal): Promise<CollectionAddResult | ScanBatchResult> => {
    if (job.name === 'collection-add') {
      const data = job.data as CollectionAddJob;
      return withUpload(job, data.video, signal, async () => {
        const throttle = progressThrottle();
        const r = await fingerprintOnce(data.video.path, lockDeps(deps), {
          signal,
          onProgress: (done, total) => throttle(() => job.updateProgress({ frames: done, expectedFrames: total ?? null })),
        });
        await deps.registry.add(data.collection, {
          id: data.id,
          key: r.key,
          duration: r.fingerprint.duration,
          frames: r.fingerprint.frameCount,
          addedAt: new Date().toISOString(),
          ...(data.youtubeId === undefined ? {} : { youtubeId: data.youtubeId, youtubeIdSource: data.youtubeIdSource }),
          ...(data.video.upload ? {} : { path: data.video.path }),
        });
        return { collection: data.collection, id: data.id, key: r.key, duration: r.fingerprint.duration, frames: r.fingerprint.frameCount, fromStore: r.fromStore };
      });
    }
    if (job.name === 'scan-batch') {
      const data = job.data as ScanBatchJob;
      const videos: ScanBatchResult['videos'] = [];
      for (const p of data.paths) {
        try {
          const r = await fingerprintOnce(p, lockDeps(deps), { signal, threads: 1 });
          videos.push({ path: p, key: r.key, frames: r.fingerprint.frameCount, fromStore: r.fromStore });
        } catch (err) {
          // A bad video is a result (the scan lists it); anything else fails the batch for a retry.
          if (!isBadInput(err)) throw asJobError(err);
          videos.push({ path: p, error: { code: (err as { code: string }).code, message: (err as Error).message } });
        }
        await job.updateProgress({ done: videos.length, total: data.paths.length });
      }
      return { videos };
    }
    throw new UnrecoverableError(`INVALID_ARGUMENT: unknown fingerprint job "${job.name}"`);
  };
}

export function checkProcessor(deps: ProcessorDeps) {
  return async (job: Job<CheckJob>, _token?: string, signal?: AbortSignal): Promise<CheckResult> => {
    const data = job.data;
    return withUpload(job, data.video, signal, async () => {
      const started = Date.now();
      const preset = presetByName(data.preset);
      const collection = await deps.matchers.load(data.collection, preset);
      const r = await fingerprintOnce(data.video.path, lockDeps(deps), { signal });
      const segments = await collection.matcher.match(r.fingerprint);
      const query = { id: data.video.name, path: undefined };
      const matches = segments.map((s) => {
        const member = collection.members[s.benchVideo]!;
        const benchFp = collection.fingerprints[s.benchVideo]!;
        return { ...toMatch(query, { id: member.id, path: undefined }, s, r.fingerprint.fps), evidence: evidenceOf(r.fingerprint, benchFp, s, preset) };
      });
      return {
        collection: data.collection,
        collectionVersion: collection.version,
        video: { name: data.video.name, key: r.key, duration: r.fingerprint.duration, frames: r.fingerprint.frameCount },
        matched: matches.length > 0,
        matches,
        preset: preset.name,
        seconds: (Date.now() - started) / 1000,
      };
    });
  };
}

/**
 * A collection as a scan side: its members (with their YouTube IDs) and their stored
 * fingerprints. A member whose fingerprint has left the store is a warning, not a silent gap.
 */
async function collectionSide(deps: ProcessorDeps, name: string): Promise<PreparedSide> {
  const got = await deps.registry.get(name);
  if (got === undefined) throw new UnrecoverableError(`INVALID_ARGUMENT: no collection "${name}"`);
  const items: VideoItem[] = [];
  const fingerprints = new Map<string, Fingerprint>();
  const warnings: string[] = [];
  for (const m of got.videos) {
    items.push({ id: m.id, path: m.path, youtubeId: m.youtubeId, youtubeIdSource: m.youtubeIdSource });
    const fp = await deps.store.get(m.key);
    if (fp !== undefined) fingerprints.set(m.id, fp);
    else if (m.path === undefined) warnings.push(`collection ${name}: the fingerprint of ${m.id} is no longer in the store (add the video again); it was not compared`);
    // else: the scan decodes it again from the path it was added from.
  }
  return { source: { spec: `${COLLECTION_PREFIX}${name}`, kind: 'collection', items, warnings }, fingerprints };
}

/**
 * The parent of a scan flow: runs once every child batch has fingerprinted its videos into the
 * store, then matches exactly as `vdedup scan` does (the same runScan, reading the store).
 */
export function scanProcessor(deps: ProcessorDeps) {
  return async (job: Job<ScanJob>, _token?: string, signal?: AbortSignal): Promise<ScanResult> => {
    const children = Object.values(await job.getChildrenValues<ScanBatchResult>());
    const failed = new Map<string, { code: string; message: string }>();
    let decoded = 0;
    let frames = 0;
    for (const c of children) {
      for (const v of c.videos) {
        if (v.error !== undefined) failed.set(v.path, v.error);
        else if (v.fromStore === false) {
          decoded++;
          frames += v.frames ?? 0;
        }
      }
    }
    try {
      const throttle = progressThrottle();
      const prepare = (spec: string) => (spec.startsWith(COLLECTION_PREFIX) ? collectionSide(deps, spec.slice(COLLECTION_PREFIX.length)) : undefined);
      const [train, bench] = await Promise.all([prepare(job.data.train), prepare(job.data.bench)]);
      const prepared = { train, bench };
      const report = await runScan({
        train: job.data.train,
        bench: job.data.bench,
        prepared,
        preset: presetByName(job.data.preset),
        exact: job.data.exact,
        store: deps.store,
        concurrency: deps.config.concurrency,
        failedFingerprints: failed,
        signal,
        onProgress: (p) => throttle(() => job.updateProgress({ phase: p.phase, done: p.done, total: p.total })),
      });
      // The children did the decoding; this run read their fingerprints from the store (and
      // decoded only what a failed batch left behind).
      report.stats.decodedVideos += decoded;
      report.stats.framesHashed += frames;
      report.stats.storedVideos = Math.max(0, report.stats.storedVideos - decoded);
      // The served HTML report shows the aligned frames of every near-duplicate: rendered here,
      // where the videos are, and kept next to the job's result for the retention time.
      const dir = reportDir(deps.config, job.id!);
      await rm(dir, { recursive: true, force: true });
      const { renderEvidenceStrips } = await import('../decontam/evidence.js');
      const strips = await renderEvidenceStrips(report, (done, total) => throttle(() => job.updateProgress({ phase: 'evidence', done, total })));
      if (strips.size > 0) await mkdir(dir, { recursive: true });
      for (const [i, strip] of strips) await writeFile(stripFile(deps.config, job.id!, i), strip);
      report.stats.seconds = Math.round(((Date.now() - job.timestamp) / 1000) * 100) / 100;
      return report;
    } catch (err) {
      throw asJobError(err);
    }
  };
}

/** Evidence strips of a finished scan, one WebP per near-duplicate match (by match index). */
export function reportDir(config: ServiceConfig, scanId: string): string {
  return path.join(config.dataDir, 'reports', scanId);
}

export function stripFile(config: ServiceConfig, scanId: string, matchIndex: number): string {
  return path.join(reportDir(config, scanId), `strip-${matchIndex}.webp`);
}

export function framesDir(config: ServiceConfig, jobId: string): string {
  return path.join(config.dataDir, 'frames', jobId);
}

export function framesProcessor(deps: ProcessorDeps) {
  return async (job: Job<FramesJob>, _token?: string, signal?: AbortSignal): Promise<FramesResult> => {
    const data = job.data;
    return withUpload(job, data.video, signal, async () => {
      const { extractFrames } = await import('../frames/extract.js');
      const throttle = progressThrottle();
      const dir = framesDir(deps.config, job.id!);
      // A retried attempt starts clean: no frame of an earlier attempt is served.
      await rm(dir, { recursive: true, force: true });
      // A failed attempt leaves no frames behind.
      const manifest = await extractFrames(data.video.path, {
        selection: data.selection,
        outDir: dir,
        format: data.format,
        width: data.width,
        height: data.height,
        fit: data.fit,
        quality: data.quality,
        fast: data.fast,
        signal,
        onProgress: (done, total) => throttle(() => job.updateProgress({ done, total })),
      }).catch(async (err: unknown) => {
        await rm(dir, { recursive: true, force: true });
        throw err;
      });
      // Progress updates are throttled: the last one may lag behind the finished job.
      await job.updateProgress({ done: manifest.frames.length, total: manifest.frames.length });
      return { ...manifest, video: data.video.name };
    });
  };
}
