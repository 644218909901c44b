import type { RequestDeps, RunDeps } from './deps.js';
import { RequestRefused } from './errors.js';
import { requireCollection, screenVideo, type ReceivedInputs } from './inputs.js';
import { answerJob, type JobAnswer } from './job-view.js';
import { discardUploads } from './uploads.js';
import { fingerprintKey } from '../fingerprint/cached.js';
import { evidenceOf, toMatch } from '../scan/engine.js';
import { presetByName } from '../scan/presets.js';
import { matchSettingsOf, type CheckJob, type CheckResult, type JobMatchSettings } from '../jobs/contract.js';

/**
 * A check: is this video a near-duplicate of a member of a collection? The request queues a
 * check job (one per video content, collection version and preset); a worker runs it against the
 * collection's matcher.
 */

/**
 * Queue the check of the one video a request carries (a full queue is refused before the upload
 * is read: `receive` reads it) and answer with the job, or its result when it is done within
 * `waitSeconds`.
 */
export async function requestCheck(deps: RequestDeps, receive: () => Promise<ReceivedInputs>, waitSeconds: number): Promise<JobAnswer> {
  const { config, producer } = deps;
  await producer.admit('check');
  const { fields, videos } = await receive();
  let queued = false;
  try {
    if (videos.length !== 1) throw new RequestRefused('invalid', 'INVALID_ARGUMENT', 'give one video: a multipart `file` part, or JSON { "path": ... } under VDEDUP_ROOTS');
    const video = videos[0]!;
    const bad = await screenVideo(video);
    if (bad !== undefined) throw bad;
    const collection = await requireCollection(producer, fields.collection ?? config.defaultCollection);
    // A check compares with the collection's members as a scan would: the preset's own retrieval.
    const settings: JobMatchSettings = { preset: presetByName(fields.preset ?? 'default').name, exact: false, prefilter: 'auto' };
    const key = await fingerprintKey(video.path);
    const version = await producer.guard(() => producer.registry.version(collection));
    const job = await producer.addCheck({ collection, video, key, settings }, version);
    queued = true;
    // The same video was already queued (or checked): that job answers; this upload is spare.
    if (job.data.video.path !== video.path) await discardUploads(videos);
    return await answerJob(producer, job, waitSeconds);
  } catch (err) {
    // Until a job owns the upload, nothing else will delete it.
    if (!queued) await discardUploads(videos);
    throw err;
  }
}

/** A check job: the video fingerprinted (once per content key) and matched against every member of the collection. */
export async function runCheck(deps: RunDeps, data: CheckJob, signal: AbortSignal | undefined): Promise<CheckResult> {
  const started = Date.now();
  const settings = matchSettingsOf(data, deps.config.scanKernel);
  const preset = settings.preset;
  const collection = await deps.matchers.load(data.collection, settings);
  const r = await deps.fingerprint(data.video.path, { signal });
  const segments = await collection.matcher.match(r.fingerprint);
  const query = { id: data.video.name, path: undefined };
  const warnings = collection.matcher.warnings();
  const matches = segments.map((s) => {
    const member = collection.members[s.benchVideo]!;
    const benchFp = collection.fingerprints[s.benchVideo]!;
    return { ...toMatch(query, { id: member.id, path: undefined }, s, r.fingerprint.regions), evidence: evidenceOf(r.fingerprint, benchFp, s, preset) };
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
}
