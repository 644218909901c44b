import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { RequestRefused } from './errors.js';
import { isVdedupError, type VdedupError } from '../errors.js';
import { probeVideo } from '../media/probe.js';
import type { ServiceConfig } from '../config/service.js';
import { checkCollectionName } from '../jobs/collection-registry.js';
import type { VideoRef } from '../jobs/contract.js';
import type { Producer } from '../jobs/producer.js';

/**
 * What a request carries: its videos (uploads already on the data volume, or server-side paths
 * resolved under VDEDUP_ROOTS) and its other fields as text. Until a job owns an upload, the use
 * case that received it deletes it.
 */
export interface ReceivedInputs {
  fields: Record<string, string>;
  videos: VideoRef[];
}

export const isInside = (root: string, p: string) => p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

/**
 * A server-side path a request names, accepted only inside VDEDUP_ROOTS: relative paths are
 * taken from the first root, `..` segments are refused outright, and the real path (symlinks
 * resolved) must still be inside a root. Returns the real absolute path.
 */
export async function resolveUnderRoots(config: ServiceConfig, requested: string): Promise<{ absolute: string; name: string }> {
  if (config.roots.length === 0) {
    throw new RequestRefused('forbidden', 'PATH_NOT_ALLOWED', 'server-side paths are disabled: start the service with VDEDUP_ROOTS=<dir>[:<dir>...] or upload the file');
  }
  if (typeof requested !== 'string' || requested === '' || requested.includes('\0')) throw new RequestRefused('invalid', 'INVALID_ARGUMENT', 'path must be a non-empty string');
  if (requested.split(/[\\/]/).includes('..')) throw new RequestRefused('forbidden', 'PATH_NOT_ALLOWED', `"${requested}": ".." is not allowed in paths`);
  const candidate = path.isAbsolute(requested) ? path.resolve(requested) : path.resolve(config.roots[0]!, requested);
  const realRoots = await Promise.all(config.roots.map((r) => realpath(r).catch(() => undefined)));
  const lexicallyInside = config.roots.some((r) => isInside(r, candidate)) || realRoots.some((r) => r !== undefined && isInside(r, candidate));
  if (!lexicallyInside) throw new RequestRefused('forbidden', 'PATH_NOT_ALLOWED', `"${requested}" is outside the allowed roots`);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    throw new RequestRefused('not-found', 'FILE_NOT_FOUND', `"${requested}" does not exist`);
  }
  const rootIndex = realRoots.findIndex((r) => r !== undefined && isInside(r, real));
  if (rootIndex < 0) throw new RequestRefused('forbidden', 'PATH_NOT_ALLOWED', `"${requested}" leads outside the allowed roots (symlink)`);
  return { absolute: real, name: path.relative(realRoots[rootIndex]!, real) || path.basename(real) };
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
    throw new RequestRefused('not-found', 'COLLECTION_NOT_FOUND', `no collection "${name}": add videos with POST /v1/collections/${name}/videos`);
  }
  return name;
}
