import path from 'node:path';
import type { RequestDeps, RunDeps } from './deps.js';
import { RequestRefused } from './errors.js';
import { resolveUnderRoots, screenVideo, type ReceivedInputs } from './inputs.js';
import { viewJob, type JobView } from './job-view.js';
import { discardUploads } from './uploads.js';
import { findFamily } from '../benchmarks/registry.js';
import { isVdedupError, type VdedupError } from '../errors.js';
import { youtubeIdFromFileName } from '../media/youtube-id.js';
import { readVideoSource, refuseArchiveMembers } from '../scan/inputs.js';
import { mapLimit } from '../util/pool.js';
import { checkCollectionName, MEMBER_FPS, memberKey, type CollectionMember, type CollectionSummary } from '../jobs/collection-registry.js';
import type { CollectionAddJob, CollectionAddResult, VideoRef } from '../jobs/contract.js';
import type { QueuedJob } from '../jobs/producer.js';

/**
 * Collections: named sets of fingerprinted videos to check against. Adding a video queues a
 * fingerprint job (one per content); the worker that runs it adds the member, fingerprint
 * included, to the registry in Redis. Members are listed and removed here directly.
 */

/** ffprobes one request runs at once to screen the videos it names. */
const SCREEN_CONCURRENCY = 4;

/** What adding videos answers: the jobs queued, the videos refused, and, when all finished in time, their views. */
export interface AddedVideos {
  collection: string;
  queued: Array<{ id: string; jobId: string; state: string }>;
  rejected: Array<{ id: string; code: string; message: string }>;
  warnings: string[];
  jobs?: JobView[];
}

/** A video to add: its member id, and whether the request named it (screened here) or a source did (left to the workers). */
interface Candidate {
  id: string;
  video: VideoRef;
  screen?: boolean;
  youtubeId?: string;
  youtubeIdSource?: 'manifest' | 'file name';
}

const noCollection = (name: string) => new RequestRefused('not-found', 'COLLECTION_NOT_FOUND', `no collection "${name}"`);

/** The videos of a `source` or `benchmark` field: a directory or manifest under the roots, or LMMs-Eval tasks. */
async function sourceVideos(deps: RequestDeps, source: string): Promise<{ candidates: Candidate[]; warnings: string[] }> {
  if (source.startsWith('lmms-eval:')) {
    // A benchmark the server does not know is not found (as a collection that does not exist).
    const unknown = source.slice('lmms-eval:'.length).split(',').map((n) => n.trim()).filter((n) => n !== '' && n !== 'all' && findFamily(n) === undefined);
    if (unknown.length > 0) throw new RequestRefused('not-found', 'BENCHMARK_NOT_FOUND', `unknown LMMs-Eval benchmark "${unknown[0]!.slice(0, 100)}" (\`vdedup benchmarks\` lists them)`);
  }
  const spec = source.startsWith('lmms-eval:') ? source : (await resolveUnderRoots(deps.config, source)).absolute;
  const src = await readVideoSource(spec).catch((err: unknown) => {
    // Nothing of the benchmark under HF_HOME: said without the server's paths.
    if (isVdedupError(err) && err.code === 'FILE_NOT_FOUND' && spec.startsWith('lmms-eval:')) {
      throw new RequestRefused('not-found', 'NO_VIDEOS', `${spec.slice(0, 200)}: the server has no videos or metadata of this benchmark (download it with LMMs-Eval under the server's HF_HOME)`);
    }
    throw err;
  });
  refuseArchiveMembers(source, src.items);
  const candidates: Candidate[] = [];
  for (const item of src.items) {
    if (item.path === undefined) continue;
    const idSource = item.youtubeIdSource === 'manifest' || item.youtubeIdSource === 'file name' ? item.youtubeIdSource : undefined;
    candidates.push({
      id: item.id,
      video: { path: item.path, name: item.id, upload: false },
      ...(item.youtubeId === undefined ? {} : { youtubeId: item.youtubeId, youtubeIdSource: idSource }),
    });
  }
  return { candidates, warnings: src.warnings };
}

/**
 * Fingerprint and index videos into a collection (created on first use): the videos a request
 * carries (`receive` reads them, after a full queue was refused), or a whole `source` or
 * `benchmark`. Each video becomes a fingerprint job; a video named in the request that is not
 * one is rejected here. With `waitSeconds`, the jobs' views when all finished in time.
 */
export async function addVideos(deps: RequestDeps, name: string, receive: () => Promise<ReceivedInputs>, waitSeconds: number): Promise<AddedVideos> {
  const { producer } = deps;
  const collection = checkCollectionName(name);
  await producer.admit('fingerprint');
  const { fields, videos } = await receive();
  const queuedUploads = new Set<string>();
  try {
    const candidates: Candidate[] = videos.map((v) => {
      const youtubeId = youtubeIdFromFileName(path.basename(v.name));
      return {
        id: videos.length === 1 && fields.id ? fields.id : v.name,
        video: v,
        screen: true,
        ...(youtubeId === undefined ? {} : { youtubeId, youtubeIdSource: 'file name' as const }),
      };
    });
    const warnings: string[] = [];
    const source = fields.benchmark !== undefined ? `lmms-eval:${fields.benchmark}` : fields.source;
    if (source !== undefined) {
      const found = await sourceVideos(deps, source);
      candidates.push(...found.candidates);
      warnings.push(...found.warnings);
    }
    if (candidates.length === 0 && source !== undefined) {
      throw new RequestRefused('not-found', 'NO_VIDEOS', `${source.slice(0, 200)}: no videos found${warnings.length > 0 ? ` (${warnings.join('; ').slice(0, 500)})` : ''}`);
    }
    if (candidates.length === 0) throw new RequestRefused('invalid', 'INVALID_ARGUMENT', 'no videos: send multipart `file` parts, or JSON { "path" | "paths" | "source" | "benchmark" }');
    const queued: AddedVideos['queued'] = [];
    const rejected: AddedVideos['rejected'] = [];
    const jobs: Array<QueuedJob<CollectionAddJob>> = [];
    // Videos named in the request are screened here, a few ffprobes at a time (a request of 100
    // uploads took over 30 s one by one); a whole benchmark's are left to the workers.
    const screened = await mapLimit(candidates, SCREEN_CONCURRENCY, (c): Promise<VdedupError | undefined> => (c.screen === true ? screenVideo(c.video) : Promise.resolve(undefined)));
    for (const [i, { id, video, youtubeId, youtubeIdSource }] of candidates.entries()) {
      const bad = screened[i];
      if (bad !== undefined) {
        rejected.push({ id, code: bad.code, message: bad.oneLine() });
        continue;
      }
      let key: string;
      try {
        key = await memberKey(video.path);
      } catch (err) {
        if (!isVdedupError(err)) throw err;
        rejected.push({ id, code: err.code, message: err.message });
        continue;
      }
      const job = await producer.addCollectionVideo({ collection, id, video, ...(youtubeId === undefined ? {} : { youtubeId, youtubeIdSource }) }, key);
      queuedUploads.add(video.path);
      if (job.data.video.path !== video.path) await discardUploads([video]);
      jobs.push(job);
      queued.push({ id, jobId: job.id, state: await producer.state(job.id) });
    }
    await discardUploads(videos.filter((v) => !queuedUploads.has(v.path)));
    const deadline = Date.now() + waitSeconds * 1000;
    let allDone = waitSeconds > 0;
    for (const job of jobs) {
      if (!allDone) break;
      allDone = await producer.waitFor(job.id, Math.max(0, (deadline - Date.now()) / 1000));
    }
    if (allDone && jobs.length > 0) {
      const views = await Promise.all(jobs.map((j) => viewJob(producer, j.id)));
      queued.forEach((q, i) => (q.state = views[i]!.state));
      return { collection, queued, rejected, warnings, jobs: views };
    }
    return { collection, queued, rejected, warnings };
  } catch (err) {
    await discardUploads(videos.filter((v) => !queuedUploads.has(v.path)));
    throw err;
  }
}

export async function listCollections(deps: RequestDeps): Promise<CollectionSummary[]> {
  return deps.producer.guard(() => deps.producer.registry.list());
}

/** A collection and its members, sorted by id (404 when there is none). */
export async function getCollection(deps: RequestDeps, name: string): Promise<{ name: string; version: number; videos: CollectionMember[] }> {
  const checked = checkCollectionName(name);
  const got = await deps.producer.guard(() => deps.producer.registry.get(checked));
  if (got === undefined) throw noCollection(checked);
  return got;
}

/**
 * Remove one member (404 when the collection or the member is not there). Its finished add job is
 * forgotten, so adding the same video again fingerprints and adds it afresh.
 */
export async function removeMember(deps: RequestDeps, name: string, id: string): Promise<{ collection: string; removed: string; version: number }> {
  const { producer } = deps;
  const collection = checkCollectionName(name);
  const got = await producer.guard(() => producer.registry.removeMember(collection, id));
  if (got === undefined) {
    if (!(await producer.guard(() => producer.registry.exists(collection)))) throw noCollection(collection);
    throw new RequestRefused('not-found', 'VIDEO_NOT_FOUND', `collection "${collection}" has no video "${id}" (GET /v1/collections/${collection} lists them)`);
  }
  await producer.forgetCollectionAdds(collection, [got.member.key]);
  return { collection, removed: id, version: got.version };
}

/** Remove a collection and its members (404 when there is none); returns how many it held. */
export async function removeCollection(deps: RequestDeps, name: string): Promise<{ collection: string; removed: number }> {
  const { producer } = deps;
  const collection = checkCollectionName(name);
  const members = await producer.guard(() => producer.registry.remove(collection));
  if (members === undefined) throw noCollection(collection);
  await producer.forgetCollectionAdds(collection, members.map((m) => m.key));
  return { collection, removed: members.length };
}

/**
 * A collection-add job: fingerprint the video at the members' rate (once per content key) and add
 * it, fingerprint included, to the collection in Redis, where any worker can match against it.
 */
export async function addMember(
  deps: RunDeps,
  data: CollectionAddJob,
  options: { signal?: AbortSignal | undefined; onProgress?: (frames: number, expectedFrames: number | undefined) => void },
): Promise<CollectionAddResult> {
  // A collection is a benchmark side: its members carry sub-second phases (MEMBER_FPS).
  const r = await deps.fingerprint(data.video.path, { signal: options.signal, fps: MEMBER_FPS, onProgress: options.onProgress });
  const member: CollectionMember = {
    id: data.id,
    key: r.key,
    duration: r.fingerprint.duration,
    frames: Math.ceil(r.fingerprint.frameCount / r.fingerprint.fps),
    fps: r.fingerprint.fps,
    addedAt: new Date().toISOString(),
    ...(data.youtubeId === undefined ? {} : { youtubeId: data.youtubeId, youtubeIdSource: data.youtubeIdSource }),
    ...(data.video.upload ? {} : { path: data.video.path }),
  };
  await deps.registry.add(data.collection, member, r.fingerprint);
  return { collection: data.collection, id: data.id, key: r.key, duration: r.fingerprint.duration, frames: member.frames, fromStore: r.fromStore };
}
