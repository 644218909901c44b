import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { ServiceConfig } from './service.js';
import { VdedupError } from '../errors.js';

/**
 * Is VDEDUP_DATA_DIR the same volume for the API and this worker? Uploads are written to the API's
 * data dir and read by a worker; extracted frames and a scan's evidence strips are written by a
 * worker and served by the API. On machines that do not share the volume those jobs fail in
 * confusing ways (a missing upload, frames that 404), so it is detected instead:
 *
 * the API writes a marker file with a random id in its data dir and publishes the id in Redis;
 * a worker that finds a file of that id in its own data dir shares the volume with the API.
 * Fingerprints do not need the shared volume (collections keep theirs in Redis; a scan's parent
 * fingerprints again what its store lacks).
 */
export type DataDirState =
  /** The marker the API published is in this data dir. */
  | { shared: true; detail: string }
  /** It is not: jobs that need the API's files are refused with DATA_DIR_NOT_SHARED. */
  | { shared: false; detail: string }
  /** No API has published a marker (none started since Redis did): nothing to judge by. */
  | { shared: null; detail: string };

const MARKER_PREFIX = '.vdedup-data-dir-';

const markerKey = (config: ServiceConfig) => `${config.prefix}:data-dir:marker`;
const markerFile = (config: ServiceConfig, id: string) => path.join(config.dataDir, `${MARKER_PREFIX}${id}`);

/** Where the workers' last verdicts are kept, for the API's /health. */
export const workersKey = (config: ServiceConfig) => `${config.prefix}:data-dir:workers`;

async function hasMarker(config: ServiceConfig, id: string): Promise<boolean> {
  return (await readFile(markerFile(config, id), 'utf8').catch(() => undefined)) === id;
}

/** This process's data dir against the marker Redis names. */
export async function dataDirState(redis: Redis, config: ServiceConfig): Promise<DataDirState> {
  const id = await redis.get(markerKey(config));
  if (id === null || !/^[0-9a-f]{32}$/.test(id)) return { shared: null, detail: 'no API has published its data dir marker yet' };
  if (await hasMarker(config, id)) return { shared: true, detail: 'shares VDEDUP_DATA_DIR with the API' };
  return {
    shared: false,
    detail:
      `VDEDUP_DATA_DIR (${config.dataDir}) is not the API's data dir: its marker ${MARKER_PREFIX}${id} is not there. ` +
      'Uploads, frame extraction and scan evidence need one volume mounted by the API and every worker at VDEDUP_DATA_DIR',
  };
}

/** Jobs that read the API's files or write files the API serves refuse to run on another volume. */
export function requireSharedDataDir(state: DataDirState, what: string): void {
  if (state.shared === false) throw new VdedupError('DATA_DIR_NOT_SHARED', `${what} cannot run on this worker: ${state.detail}`);
}

/**
 * The API's side, at start and then every minute (Redis may have restarted and lost it): publish a
 * marker unless one is already published whose file this data dir holds. When two APIs start at
 * once, one id wins (SET NX) and the other API removes its own file and judges itself by the
 * winner's, so an API on another volume sees that it is not shared either.
 */
export async function publishDataDirMarker(redis: Redis, config: ServiceConfig): Promise<DataDirState> {
  const current = await dataDirState(redis, config);
  if (current.shared !== null) return current;
  const id = randomBytes(16).toString('hex');
  await mkdir(config.dataDir, { recursive: true });
  await writeFile(markerFile(config, id), id);
  // (Marker files of ids Redis lost stay: a few bytes each, and another deployment sharing this
  // directory with its own Redis may still be using one.)
  if ((await redis.set(markerKey(config), id, 'NX')) !== 'OK') await rm(markerFile(config, id), { force: true });
  return dataDirState(redis, config);
}
