import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Job, UnrecoverableError, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CollectionMatchers } from './collection-matchers.js';
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
  ScanRef,
  ScanResult,
  VideoRef,
} from '../jobs/contract.js';
import { COLLECTION_PREFIX } from '../jobs/contract.js';
import { MEMBER_FPS, type CollectionMember, type CollectionRegistry } from '../jobs/collection-registry.js';
import { framesDir, reportDir, stripFile } from '../config/paths.js';
import type { ServiceConfig } from '../config/service.js';
import type { VideoItem, VideoSource } from '../scan/inputs.js';
import { presetByName } from '../scan/presets.js';
import { evidenceOf, scanSources, toMatch, type Side } from '../scan/engine.js';
import { errorOutcome, type FingerprintOutcome, type FingerprintSource } from '../scan/sides.js';
import type { FingerprintStore } from '../fingerprint/store.js';
import { isBadInput, isBadInputCode, isVdedupError, VdedupError, type ErrorCode } from '../errors.js';
import type { DataDirState } from '../config/data-dir.js';

export interface ProcessorDeps {
  config: ServiceConfig;
  store: FingerprintStore;
  redis: Redis;
  registry: CollectionRegistry;
  matchers: CollectionMatchers;
  /** The fingerprint queue, where a scan's child batches live (to read the data of failed ones). */
  fingerprintQueue: Queue;
  logger: Logger;
  /** Whether this worker's VDEDUP_DATA_DIR is the API's (uploads, frames and evidence strips need it). */
  dataDir: () => Promise<DataDirState>;
}

/** Jobs that read the API's files or write files the API serves refuse to run on another volume. */
async function needSharedDataDir(deps: ProcessorDeps, what: string): Promise<void> {
  const state = await deps.dataDir();
  if (state.shared === false) throw new VdedupError('DATA_DIR_NOT_SHARED', `${what} cannot run on this worker: ${state.detail}`);
}

/** Failures no retry can fix: bad input, a collection the worker cannot see whole, a data dir it does not share. */
const notRetried = (code: ErrorCode) => isBadInputCode(code) || code === 'COLLECTION_INCOMPLETE' || code === 'DATA_DIR_NOT_SHARED';

/** A job's failure as BullMQ stores it: "CODE: message", parsed back by `errorOfJob`. */
function asJobError(err: unknown): Error {
  if (isVdedupError(err)) {
    const text = `${err.code}: ${err.oneLine()}`;
    return notRetried(err.code) ? new UnrecoverableError(text) : new Error(text);
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** The job's own time limit (VDEDUP_JOB_TIMEOUT_SECONDS) fired, as opposed to a worker shutdown. */
export function timedOut(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && (signal.reason as { name?: string } | undefined)?.name === 'TimeoutError';
}

/** Uploads are deleted once no attempt will read them again (done, bad input, timed out, or out of attempts). */
async function withUpload<T>(deps: ProcessorDeps, job: Job, video: VideoRef, signal: AbortSignal | undefined, body: () => Promise<T>): Promise<T> {
  let finished = false;
  try {
    // An upload is a file in the API's data dir: a worker on another volume would not find it.
    if (video.upload) await needSharedDataDir(deps, 'a job on an uploaded video');
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
      return withUpload(deps, job, data.video, signal, async () => {
        const throttle = progressThrottle();
        // A collection is a benchmark side: its members carry sub-second phases (MEMBER_FPS).
        const r = await fingerprintOnce(data.video.path, lockDeps(deps), {
          signal,
          fps: MEMBER_FPS,
          onProgress: (done, total) => throttle(() => job.updateProgress({ frames: done, expectedFrames: total ?? null })),
        });
        const member = {
          id: data.id,
          key: r.key,
          duration: r.fingerprint.duration,
          frames: Math.ceil(r.fingerprint.frameCount / r.fingerprint.fps),
          fps: r.fingerprint.fps,
          addedAt: new Date().toISOString(),
          ...(data.youtubeId === undefined ? {} : { youtubeId: data.youtubeId, youtubeIdSource: data.youtubeIdSource }),
          ...(data.video.upload ? {} : { path: data.video.path }),
        };
        // The fingerprint goes to Redis with the member: any worker can match against it.
        await deps.registry.add(data.collection, member, r.fingerprint);
        return {
          collection: data.collection,
          id: data.id,
          key: r.key,
          duration: r.fingerprint.duration,
          frames: Math.ceil(r.fingerprint.frameCount / r.fingerprint.fps),
          fromStore: r.fromStore,
        };
      });
    }
    if (job.name === 'scan-batch') {
      const data = job.data as ScanBatchJob;
      const videos: ScanBatchResult['videos'] = [];
      for (const { path: p, refs, fps } of data.videos) {
        try {
          const r = await fingerprintOnce(p, lockDeps(deps), { signal, threads: 1, fps: fps ?? 1 });
          videos.push({ path: p, refs, key: r.key, frames: r.fingerprint.frameCount, fromStore: r.fromStore });
        } catch (err) {
          // A bad video is a result (the scan lists it); anything else fails the batch for a retry.
          if (!isBadInput(err)) throw asJobError(err);
          videos.push({ path: p, refs, error: { code: (err as { code: string }).code, message: (err as Error).message } });
        }
        await job.updateProgress({ done: videos.length, total: data.videos.length });
      }
      return { videos };
    }
    throw new UnrecoverableError(`INVALID_ARGUMENT: unknown fingerprint job "${job.name}"`);
  };
}

export function checkProcessor(deps: ProcessorDeps) {
  return async (job: Job<CheckJob>, _token?: string, signal?: AbortSignal): Promise<CheckResult> => {
    const data = job.data;
    return withUpload(deps, job, data.video, signal, async () => {
      const started = Date.now();
      const preset = presetByName(data.preset);
      const collection = await deps.matchers.load(data.collection, preset);
      const r = await fingerprintOnce(data.video.path, lockDeps(deps), { signal });
      const segments = await collection.matcher.match(r.fingerprint);
      const query = { id: data.video.name, path: undefined };
      const warnings = collection.matcher.warnings();
      const matches = segments.map((s) => {
        const member = collection.members[s.benchVideo]!;
        const benchFp = collection.fingerprints[s.benchVideo]!;
        return { ...toMatch(query, { id: member.id, path: undefined }, s), evidence: evidenceOf(r.fingerprint, benchFp, s, preset) };
      });
      return {
        collection: data.collection,
        collectionVersion: collection.version,
        video: { name: data.video.name, key: r.key, duration: r.fingerprint.duration, frames: r.fingerprint.frameCount },
        matched: matches.length > 0,
        matches,
        preset: preset.name,
        seconds: (Date.now() - started) / 1000,
        ...(warnings.length > 0 ? { warnings } : {}),
      };
    });
  };
}

type BatchVideo = ScanBatchResult['videos'][number];

/**
 * The files a scan flow's children fingerprinted, in batch order: each with its refs and its store
 * key or error. A batch that failed for good left no result: its files come back without either
 * (the parent fingerprints them itself).
 */
async function childVideos(deps: ProcessorDeps, job: Job<ScanJob>): Promise<BatchVideo[]> {
  const batchIndex = (key: string) => Number(key.slice(key.lastIndexOf('.') + 1));
  const jobId = (key: string) => key.split(':').slice(2).join(':');
  const done = Object.entries(await job.getChildrenValues<ScanBatchResult>()).map(([key, r]) => ({ i: batchIndex(key), videos: r.videos }));
  const failed = await Promise.all(
    Object.keys(await job.getIgnoredChildrenFailures()).map(async (key) => {
      const child = await Job.fromId<ScanBatchJob>(deps.fingerprintQueue, jobId(key));
      return { i: batchIndex(key), videos: (child?.data.videos ?? []) as BatchVideo[] };
    }),
  );
  return [...done, ...failed].sort((a, b) => a.i - b.i).flatMap((b) => b.videos);
}

/** The collection and member of each item of a collection side: their fingerprints are in Redis. */
type MemberOf = Map<VideoItem, { collection: string; member: CollectionMember }>;

/** A collection as a scan side: its members with their store keys, YouTube IDs and paths. */
async function collectionSide(deps: ProcessorDeps, spec: string, memberOf: MemberOf): Promise<VideoSource> {
  const name = spec.slice(COLLECTION_PREFIX.length);
  const got = await deps.registry.get(name);
  if (got === undefined) throw new UnrecoverableError(`INVALID_ARGUMENT: no collection "${name}"`);
  const items = got.videos.map((m) => {
    const item: VideoItem = { id: m.id, path: m.path, youtubeId: m.youtubeId, youtubeIdSource: m.youtubeIdSource, key: m.key };
    memberOf.set(item, { collection: name, member: m });
    return item;
  });
  return { spec, kind: 'collection', items, warnings: [] };
}

/** A path side as the flow carries it: the items of the children's refs and the ID-only entries. */
function pathSide(spec: string, side: Side, videos: BatchVideo[], idOnly: ScanRef[], warnings: string[]): VideoSource {
  const refs = [...videos.flatMap((v) => v.refs), ...idOnly];
  return { spec, kind: 'directory', items: refs.filter((r) => r.side === side).map((r) => r.item), warnings };
}

/**
 * Where the scan job finds fingerprints: a collection member's as its collection holds it (Redis,
 * else recovered and put back: `CollectionMatchers.member`); a file's by the key its child batch
 * returned (the decoding is counted once, for the first side that reads it). A file whose batch
 * failed, or whose entry left the store, is fingerprinted here.
 */
function flowSource(deps: ProcessorDeps, videos: BatchVideo[], memberOf: MemberOf, signal: AbortSignal | undefined): FingerprintSource {
  const byPath = new Map(videos.map((v) => [v.path, v]));
  const counted = new Set<string>();
  return async (side, item, fps): Promise<FingerprintOutcome> => {
    const of = memberOf.get(item);
    if (of !== undefined) {
      try {
        const got = await deps.matchers.member(of.collection, of.member, { signal, threads: 1 });
        if ('problem' in got) return { error: { code: 'COLLECTION_INCOMPLETE', message: `${got.problem}: remove it and add it again; it was not compared` } };
        return { fp: { ...got.fp, file: item.path ?? got.fp.file }, framesDecoded: got.framesDecoded };
      } catch (err) {
        return errorOutcome(side, item, err, signal);
      }
    }
    const child = item.path === undefined ? undefined : byPath.get(item.path);
    if (child?.error !== undefined) return { error: child.error };
    const key = item.key ?? child?.key;
    const stored = key === undefined ? undefined : await deps.store.get(key);
    if (stored !== undefined) {
      const first = child !== undefined && !counted.has(child.path);
      if (first) counted.add(child.path);
      return { fp: { ...stored, file: item.path ?? stored.file }, framesDecoded: first && child.fromStore === false ? (child.frames ?? 0) : 0 };
    }
    // An entry with no file (a YouTube ID only), said as `vdedup scan` says it (storeSource).
    if (item.path === undefined) return { error: { code: 'FILE_NOT_FOUND', message: 'no file for this entry (a YouTube ID only)' } };
    try {
      const r = await fingerprintOnce(item.path, lockDeps(deps), { signal, threads: 1, fps });
      return { fp: r.fingerprint, framesDecoded: r.fromStore ? 0 : r.fingerprint.frameCount };
    } catch (err) {
      return errorOutcome(side, item, err, signal);
    }
  };
}

/**
 * The parent of a scan flow: runs once every child batch has fingerprinted its files into the
 * store, then scans exactly as `vdedup scan` does (the same stages), reading the fingerprints by
 * the keys its children returned.
 */
export function scanProcessor(deps: ProcessorDeps) {
  return async (job: Job<ScanJob>, _token?: string, signal?: AbortSignal): Promise<ScanResult> => {
    try {
      const throttle = progressThrottle();
      const data = job.data;
      const videos = await childVideos(deps, job);
      const memberOf: MemberOf = new Map();
      const side = (spec: string, s: Side, warnings: string[]) =>
        spec.startsWith(COLLECTION_PREFIX) ? collectionSide(deps, spec, memberOf) : pathSide(spec, s, videos, data.idOnly ?? [], warnings);
      const [train, bench] = await Promise.all([side(data.train, 'train', data.warnings?.train ?? []), side(data.bench, 'bench', data.warnings?.bench ?? [])]);
      const report = await scanSources({
        train,
        bench,
        settings: { preset: presetByName(data.preset), exact: data.exact, prefilter: 'auto' },
        source: flowSource(deps, videos, memberOf, signal),
        concurrency: deps.config.concurrency,
        onProgress: (p) => throttle(() => job.updateProgress({ phase: p.phase, done: p.done, total: p.total })),
      });
      // The served HTML report shows the aligned frames of every near-duplicate: rendered here,
      // where the videos are, and kept next to the job's result for the retention time.
      // A worker on another volume than the API's gives the same matches, without the strips.
      const dataDir = await deps.dataDir();
      if (dataDir.shared === false) {
        report.warnings.push(`no evidence strips in the HTML report: the worker that finished this scan does not share the API's data dir (${dataDir.detail})`);
      } else {
        const dir = reportDir(deps.config, job.id!);
        await rm(dir, { recursive: true, force: true });
        const { renderEvidenceStrips } = await import('../scan/evidence.js');
        const strips = await renderEvidenceStrips(report, (done, total) => throttle(() => job.updateProgress({ phase: 'evidence', done, total })));
        if (strips.size > 0) await mkdir(dir, { recursive: true });
        for (const [i, strip] of strips) await writeFile(stripFile(deps.config, job.id!, i), strip);
      }
      report.stats.seconds = Math.round(((Date.now() - job.timestamp) / 1000) * 100) / 100;
      return report;
    } catch (err) {
      throw asJobError(err);
    }
  };
}

export function framesProcessor(deps: ProcessorDeps) {
  return async (job: Job<FramesJob>, _token?: string, signal?: AbortSignal): Promise<FramesResult> => {
    const data = job.data;
    return withUpload(deps, job, data.video, signal, async () => {
      // The API serves the frames from its data dir.
      await needSharedDataDir(deps, 'frame extraction');
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
