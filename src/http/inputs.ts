import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Job } from 'bullmq';
import type { FastifyRequest } from 'fastify';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { ApiError } from './errors.js';
import { checkCollectionName } from '../jobs/collection-registry.js';
import type { Producer } from '../jobs/producer.js';
import { isVdedupError, VdedupError } from '../errors.js';
import { probeVideo } from '../media/probe.js';
import { errorOfJob, QUEUE_NAMES, type QueueName, type VideoRef } from '../jobs/contract.js';
import type { ServiceConfig } from '../config/service.js';

const isInside = (root: string, p: string) => p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

/**
 * A server-side path a request names, accepted only inside VDEDUP_ROOTS: relative paths are
 * taken from the first root, `..` segments are refused outright, and the real path (symlinks
 * resolved) must still be inside a root. Returns the real absolute path.
 */
export async function resolveUnderRoots(config: ServiceConfig, requested: string): Promise<{ absolute: string; name: string }> {
  if (config.roots.length === 0) {
    throw new ApiError(403, 'PATH_NOT_ALLOWED', 'server-side paths are disabled: start the service with VDEDUP_ROOTS=<dir>[:<dir>...] or upload the file');
  }
  if (typeof requested !== 'string' || requested === '' || requested.includes('\0')) throw new ApiError(400, 'INVALID_ARGUMENT', 'path must be a non-empty string');
  if (requested.split(/[\\/]/).includes('..')) throw new ApiError(403, 'PATH_NOT_ALLOWED', `"${requested}": ".." is not allowed in paths`);
  const candidate = path.isAbsolute(requested) ? path.resolve(requested) : path.resolve(config.roots[0]!, requested);
  const realRoots = await Promise.all(config.roots.map((r) => realpath(r).catch(() => undefined)));
  const lexicallyInside = config.roots.some((r) => isInside(r, candidate)) || realRoots.some((r) => r !== undefined && isInside(r, candidate));
  if (!lexicallyInside) throw new ApiError(403, 'PATH_NOT_ALLOWED', `"${requested}" is outside the allowed roots`);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    throw new ApiError(404, 'FILE_NOT_FOUND', `"${requested}" does not exist`);
  }
  const rootIndex = realRoots.findIndex((r) => r !== undefined && isInside(r, real));
  if (rootIndex < 0) throw new ApiError(403, 'PATH_NOT_ALLOWED', `"${requested}" leads outside the allowed roots (symlink)`);
  return { absolute: real, name: path.relative(realRoots[rootIndex]!, real) || path.basename(real) };
}

export interface ReceivedInputs {
  fields: Record<string, string>;
  videos: VideoRef[];
}

function safeFileName(name: string | undefined): string {
  const base = path.basename(name ?? '').replace(/[^\w.\- ]+/g, '_').slice(-120);
  return base === '' || base === '.' || base === '..' ? 'upload' : base;
}

/**
 * A worker that does not share the API's data dir refuses jobs on uploads (DATA_DIR_NOT_SHARED)
 * and cannot delete them either: the upload is on the API's volume. The API deletes it when it
 * sees the refusal: at once for a request that waited (`answerJob`), else in its minutely sweep
 * of failed jobs (`RefusedUploadSweep`). Such a job is never retried. `job` must have failed with
 * DATA_DIR_NOT_SHARED (the caller checked).
 */
export async function discardRefusedUpload(job: Job): Promise<void> {
  const video = (job.data as { video?: VideoRef } | undefined)?.video;
  if (video?.upload === true) await discardUploads([video]);
}

/** Queues whose jobs may carry an upload (a scan's jobs name paths only). */
const UPLOAD_QUEUES: readonly QueueName[] = QUEUE_NAMES.filter((q) => q !== 'scan');
/** Failed jobs read per Redis round trip. */
const SWEEP_PAGE = 100;
/**
 * Failures finished this long before the previous sweep are read again: a job's finish time is
 * its worker's clock, which may lag the API's a little.
 */
const SWEEP_CLOCK_MARGIN_MS = 10 * 60 * 1000;

/**
 * Deletes the uploads of failed jobs that workers on another volume refused (DATA_DIR_NOT_SHARED)
 * and that are still on this API's volume. Each run reads the failures since the previous one
 * (newest first, page by page, at most `limit` per queue), not every failed job the queues keep.
 */
export class RefusedUploadSweep {
  /** Newest finish time seen (ms): the next run stops at failures older than this (less a margin). */
  private since = 0;

  constructor(
    private readonly producer: Producer,
    private readonly config: ServiceConfig,
  ) {}

  /** Uploads deleted by this run. */
  async run(limit = 1000): Promise<number> {
    const uploads = path.resolve(this.config.dataDir, 'uploads');
    const stopBefore = this.since - SWEEP_CLOCK_MARGIN_MS;
    let removed = 0;
    for (const name of UPLOAD_QUEUES) {
      const queue = this.producer.queue(name);
      for (let start = 0; start < limit; start += SWEEP_PAGE) {
        const page = await queue.getJobs(['failed'], start, Math.min(start + SWEEP_PAGE, limit) - 1, false);
        for (const job of page) {
          this.since = Math.max(this.since, job?.finishedOn ?? 0);
          const video = (job?.data as { video?: VideoRef } | undefined)?.video;
          if (video === undefined || !video.upload || !isInside(uploads, path.resolve(video.path))) continue;
          if (errorOfJob(job.failedReason).code !== 'DATA_DIR_NOT_SHARED' || !existsSync(video.path)) continue;
          await discardRefusedUpload(job);
          removed++;
        }
        const oldest = page.at(-1)?.finishedOn ?? 0;
        if (page.length < SWEEP_PAGE || oldest < stopBefore) break;
      }
    }
    return removed;
  }
}

/** Delete the uploads of a request that failed before any job took ownership of them. */
export async function discardUploads(videos: VideoRef[]): Promise<void> {
  await Promise.all(videos.filter((v) => v.upload).map((v) => rm(path.dirname(v.path), { recursive: true, force: true })));
}

/**
 * A multipart text field checked against the property of the form's schema (the document's
 * multipart/form-data body) that names it, as Fastify checks JSON members: numbers and booleans
 * arrive as text and are read as such. Unknown fields are refused.
 */
function checkFormField(form: { properties: Record<string, TSchema> }, name: string, value: string): void {
  const fields = Object.keys(form.properties).filter((k) => k !== 'file');
  const schema = name === 'file' ? undefined : form.properties[name];
  if (schema === undefined) {
    const what = name === 'file' ? 'the `file` part must be a file (a part with a filename)' : `unknown multipart field "${name}"`;
    throw new ApiError(400, 'INVALID_ARGUMENT', `${what} (fields: file, ${fields.join(', ')})`);
  }
  const converted = Value.Convert(schema, value);
  if (!Value.Check(schema, converted)) {
    const first = [...Value.Errors(schema, converted)][0];
    throw new ApiError(400, 'VALIDATION', `multipart field "${name}": ${first?.message ?? 'not a valid value'} (got "${value.slice(0, 100)}")`);
  }
}

/**
 * The videos of a request: multipart files streamed to the data volume (never held in memory,
 * capped at VDEDUP_MAX_UPLOAD_BYTES each), or JSON `path`/`paths` under the allowed roots.
 * Other multipart fields (checked against `form`, the operation's multipart schema) and JSON
 * members (checked by the route's JSON schema) come back in `fields`.
 */
export async function receiveVideos(
  request: FastifyRequest,
  config: ServiceConfig,
  maxFiles: number,
  form: { properties: Record<string, TSchema> },
): Promise<ReceivedInputs> {
  if (!request.isMultipart()) {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const requested = typeof body.path === 'string' ? [body.path] : Array.isArray(body.paths) ? body.paths : [];
    if (requested.length > maxFiles) throw new ApiError(400, 'INVALID_ARGUMENT', `at most ${maxFiles} paths per request`);
    const videos: VideoRef[] = [];
    for (const p of requested) {
      const r = await resolveUnderRoots(config, p as string);
      videos.push({ path: r.absolute, name: r.name, upload: false });
    }
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(body)) if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') fields[k] = String(v);
    return { fields, videos };
  }
  const fields: Record<string, string> = {};
  const videos: VideoRef[] = [];
  try {
    for await (const part of request.parts({ limits: { fileSize: config.maxUploadBytes, files: maxFiles, fields: 50 } })) {
      if (part.type === 'field') {
        checkFormField(form, part.fieldname, String(part.value));
        if (part.fieldname in fields) throw new ApiError(400, 'INVALID_ARGUMENT', `multipart field "${part.fieldname}" given more than once`);
        fields[part.fieldname] = String(part.value);
        continue;
      }
      if (part.fieldname !== 'file') {
        part.file.resume();
        throw new ApiError(400, 'INVALID_ARGUMENT', `upload files in parts named "file", not "${part.fieldname}"`);
      }
      const dir = path.join(config.dataDir, 'uploads', randomUUID());
      await mkdir(dir, { recursive: true });
      const name = safeFileName(part.filename);
      const file = path.join(dir, name);
      videos.push({ path: file, name: part.filename || name, upload: true });
      await pipeline(part.file, createWriteStream(file));
      if (part.file.truncated) {
        throw new ApiError(413, 'FILE_TOO_LARGE', `${part.filename}: larger than the upload limit of ${config.maxUploadBytes} bytes (VDEDUP_MAX_UPLOAD_BYTES)`);
      }
    }
  } catch (err) {
    await discardUploads(videos);
    if (err instanceof ApiError) throw err;
    const e = err as { code?: string; message?: string };
    // As many paths over the limit in JSON (the document's maxItems): a request the document refuses, 400.
    if (e.code === 'FST_FILES_LIMIT') throw new ApiError(400, 'TOO_MANY_FILES', `at most ${maxFiles} file(s) per request`);
    if (e.code === 'FST_REQ_FILE_TOO_LARGE') throw new ApiError(413, 'FILE_TOO_LARGE', `larger than the upload limit of ${config.maxUploadBytes} bytes`);
    // A body that is not well-formed multipart (no boundary, cut short, a broken part header) is
    // the client's mistake: 400, not an internal error.
    if (/Boundary not found|Unexpected end of (form|multipart)|Malformed part header|Malformed urlencoded form/i.test(e.message ?? '')) {
      throw new ApiError(400, 'INVALID_MULTIPART', `not a well-formed multipart/form-data body (${e.message})`);
    }
    throw err;
  }
  return { fields, videos };
}

/**
 * Refuse what is plainly not a video before it is queued: ffprobe reads the headers (under the
 * same protocol and demuxer whitelists as decoding); decoding stays with the workers. Returns the
 * reason, named by the client's file name rather than the server's path, or undefined when the
 * file looks like a video (or there is no ffprobe here to tell: the workers will).
 */
export async function screenVideo(video: VideoRef): Promise<VdedupError | undefined> {
  try {
    await probeVideo(video.path, { timeoutMs: 15_000 });
    return undefined;
  } catch (err) {
    if (!isVdedupError(err) || err.code === 'FFMPEG_NOT_FOUND') return undefined;
    return video.upload ? err.asUpload(video.path, video.name) : err;
  }
}

/** A collection a request names: a valid name that exists, else 400 / 404 saying how to make it. */
export async function requireCollection(producer: Producer, requested: string): Promise<string> {
  const name = checkCollectionName(requested);
  if (!(await producer.guard(() => producer.registry.exists(name)))) {
    throw new ApiError(404, 'COLLECTION_NOT_FOUND', `no collection "${name}": add videos with POST /v1/collections/${name}/videos`);
  }
  return name;
}
