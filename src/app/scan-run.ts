import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { RunDeps } from './deps.js';
import { isBadInput, VdedupError } from '../errors.js';
import type { VideoItem, VideoSource } from '../scan/inputs.js';
import { scanSources, type Side } from '../scan/engine.js';
import { errorOutcome, type FingerprintOutcome, type FingerprintSource } from '../scan/sides.js';
import type { InputError } from '../scan/archive-inputs.js';
import { memberIdentity, MemberFiles, streamedMembers, withItemInput } from '../scan/member-files.js';
import { reportDir, stripFile } from '../config/paths.js';
import type { CollectionMember } from '../jobs/collection-registry.js';
import { COLLECTION_PREFIX, matchSettingsOf, type ScanBatchJob, type ScanBatchResult, type ScanJob, type ScanRef, type ScanResult } from '../jobs/contract.js';

/**
 * Running a scan flow (planned by scan-plan.ts): each batch fingerprints its files into the store;
 * the scan, once every batch is done, scans exactly as `vdedup scan` does (the same stages),
 * reading the fingerprints by the keys its batches returned.
 */

export type BatchVideo = ScanBatchResult['videos'][number];

/**
 * A scan-batch job: each file fingerprinted into the store (once per content key), at the rate its
 * sides need. A video that cannot be read is a result (the scan lists it); any other failure
 * fails the batch, for a retry.
 */
export async function fingerprintBatch(
  deps: RunDeps,
  data: ScanBatchJob,
  options: { signal?: AbortSignal | undefined; onProgress?: (done: number, total: number) => Promise<void> },
): Promise<ScanBatchResult> {
  const videos: ScanBatchResult['videos'] = [];
  // A batch of archive members is one archive's, in member order (a .tar.gz is read in one pass).
  const memberFiles = new MemberFiles(os.tmpdir(), 2, streamedMembers(data.videos.map((v) => v.refs[0]!.item)));
  try {
    for (const { path: p, refs, fps } of data.videos) {
      try {
        // Every ref is the same file or member (`p` is its path or identity).
        const r = await withItemInput(refs[0]!.item, memberFiles, (input) => deps.fingerprint(input, { signal: options.signal, threads: 1, fps: fps ?? 1 }));
        videos.push({ path: p, refs, key: r.key, frames: r.fingerprint.frameCount, fromStore: r.fromStore });
      } catch (err) {
        if (!isBadInput(err)) throw err;
        videos.push({ path: p, refs, error: { code: (err as { code: string }).code, message: (err as Error).message } });
      }
      await options.onProgress?.(videos.length, data.videos.length);
    }
  } finally {
    await memberFiles.close();
  }
  return { videos };
}

/** The collection and member of each item of a collection side: their fingerprints are in Redis. */
type MemberOf = Map<VideoItem, { collection: string; member: CollectionMember }>;

/** A collection as a scan side: its members with their store keys, YouTube IDs and paths. */
async function collectionSide(deps: RunDeps, spec: string, memberOf: MemberOf): Promise<VideoSource> {
  const name = spec.slice(COLLECTION_PREFIX.length);
  const got = await deps.registry.get(name);
  if (got === undefined) throw new VdedupError('INVALID_ARGUMENT', `no collection "${name}"`);
  const items = got.videos.map((m) => {
    const item: VideoItem = { id: m.id, path: m.path, youtubeId: m.youtubeId, youtubeIdSource: m.youtubeIdSource, key: m.key };
    memberOf.set(item, { collection: name, member: m });
    return item;
  });
  return { spec, kind: 'collection', items, warnings: [] };
}

/** A path side as the flow carries it: the items of the batches' refs and the ID-only entries, and what could not be read. */
function pathSide(spec: string, side: Side, videos: BatchVideo[], idOnly: ScanRef[], warnings: string[], errors: InputError[]): VideoSource {
  const refs = [...videos.flatMap((v) => v.refs), ...idOnly];
  return { spec, kind: 'directory', items: refs.filter((r) => r.side === side).map((r) => r.item), warnings, errors };
}

/**
 * Where the scan finds fingerprints: a collection member's as its collection holds it (Redis,
 * else recovered and put back: `CollectionMatcherSource.member`); a file's by the key its batch
 * returned (the decoding is counted once, for the first side that reads it). A file whose batch
 * failed, or whose entry left the store, is fingerprinted here.
 */
function flowSource(deps: RunDeps, videos: BatchVideo[], memberOf: MemberOf, memberFiles: MemberFiles, signal: AbortSignal | undefined): FingerprintSource {
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
    const identity = item.member === undefined ? item.path : memberIdentity(item.member);
    const batch = identity === undefined ? undefined : byPath.get(identity);
    if (batch?.error !== undefined) return { error: batch.error };
    const key = item.key ?? batch?.key;
    const stored = key === undefined ? undefined : await deps.store.get(key);
    if (stored !== undefined) {
      const first = batch !== undefined && !counted.has(batch.path);
      if (first) counted.add(batch.path);
      return { fp: { ...stored, file: item.path ?? stored.file }, framesDecoded: first && batch.fromStore === false ? (batch.frames ?? 0) : 0 };
    }
    // Its batch failed for good: fingerprinted here (an entry with no file is said as `vdedup scan` says it).
    try {
      const r = await withItemInput(item, memberFiles, (input) => deps.fingerprint(input, { signal, threads: 1, fps }));
      return { fp: item.member === undefined ? r.fingerprint : { ...r.fingerprint, file: item.id }, framesDecoded: r.fromStore ? 0 : r.fingerprint.frameCount };
    } catch (err) {
      return errorOutcome(side, item, err, signal);
    }
  };
}

export interface ScanRun {
  scanId: string;
  data: ScanJob;
  /** The files the batches fingerprinted, in batch order, each with its refs and its store key or error (none: the batch failed for good). */
  videos: BatchVideo[];
  /** When the scan was requested (ms): the report's seconds count from then, batches included. */
  requestedAt: number;
  signal: AbortSignal | undefined;
  onProgress: (progress: { phase: string; done: number; total: number }) => void;
}

/**
 * The scan of a flow, once its batches are done: the report, with the evidence strips of its
 * near-duplicates rendered next to it for the served HTML report.
 */
export async function runScanFlow(deps: RunDeps, run: ScanRun): Promise<ScanResult> {
  const { data, videos } = run;
  const memberOf: MemberOf = new Map();
  const side = (spec: string, s: Side) =>
    spec.startsWith(COLLECTION_PREFIX) ? collectionSide(deps, spec, memberOf) : pathSide(spec, s, videos, data.idOnly ?? [], data.warnings?.[s] ?? [], data.inputErrors?.[s] ?? []);
  const [train, bench] = await Promise.all([side(data.train, 'train'), side(data.bench, 'bench')]);
  // Members whose batch failed are read here, through temporary copies where they must be.
  const memberFiles = new MemberFiles(os.tmpdir(), deps.config.concurrency + 1, streamedMembers([...train.items, ...bench.items]));
  let report: ScanResult;
  try {
    report = await scanSources({
      train,
      bench,
      settings: matchSettingsOf(data, deps.config.scanKernel),
      source: flowSource(deps, videos, memberOf, memberFiles, run.signal),
      concurrency: deps.config.concurrency,
      onProgress: (p) => run.onProgress({ phase: p.phase, done: p.done, total: p.total }),
    });
  } finally {
    await memberFiles.close();
  }
  // The served HTML report shows the aligned frames of every near-duplicate: rendered here,
  // where the videos are, and kept next to the job's result for the retention time.
  // A worker on another volume than the API's gives the same matches, without the strips.
  const dataDir = await deps.dataDir();
  if (dataDir.shared === false) {
    report.warnings.push(`no evidence strips in the HTML report: the worker that finished this scan does not share the API's data dir (${dataDir.detail})`);
  } else {
    const dir = reportDir(deps.config, run.scanId);
    await rm(dir, { recursive: true, force: true });
    const { renderEvidenceStrips } = await import('../scan/evidence.js');
    const strips = await renderEvidenceStrips(report, (done, total) => run.onProgress({ phase: 'evidence', done, total }));
    if (strips.size > 0) await mkdir(dir, { recursive: true });
    for (const [i, strip] of strips) await writeFile(stripFile(deps.config, run.scanId, i), strip);
  }
  report.stats.seconds = Math.round(((Date.now() - run.requestedAt) / 1000) * 100) / 100;
  return report;
}
