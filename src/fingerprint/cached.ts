import { contentKey } from './content-key.js';
import { CENTER_CROP, INNER_CROP, fingerprintFps, fingerprintVideo, type Fingerprint, type FingerprintOptions } from './fingerprint.js';
import { FingerprintStore } from './store.js';
import { checkInputFile } from '../media/input.js';
import { SAMPLE_SIZE } from '../media/sample.js';

/**
 * Everything that changes a fingerprint's bits. Bump when the sampler or the hash changes, so the
 * store never serves hashes made by another method.
 */
export const FINGERPRINT_PIPELINE = `vdedup-fp4:from-first-frame:fps=1:round=up:scale=${SAMPLE_SIZE}x${SAMPLE_SIZE}:area:gray:phash64:trim32:center${CENTER_CROP}:inner${INNER_CROP}`;

export interface CachedFingerprint {
  key: string;
  fingerprint: Fingerprint;
  /** True when read from the store (nothing decoded). */
  fromStore: boolean;
}

/**
 * The pipelines of earlier versions, newest first (time from the container's 0 instead of the
 * first frame; before the inner half; before center crops). A
 * collection member added under one keeps that key; a file that still gives it under the same
 * pipeline holds the same content (`isEarlierKey`).
 */
export const EARLIER_PIPELINES = [
  `vdedup-fp3:fps=1:round=up:scale=${SAMPLE_SIZE}x${SAMPLE_SIZE}:area:gray:phash64:trim32:center${CENTER_CROP}:inner${INNER_CROP}`,
  `vdedup-fp2:fps=1:round=up:scale=${SAMPLE_SIZE}x${SAMPLE_SIZE}:area:gray:phash64:trim32:center${CENTER_CROP}`,
  `vdedup-fp1:fps=1:round=up:scale=${SAMPLE_SIZE}x${SAMPLE_SIZE}:area:gray:phash64:trim32`,
];

/** `base` (a 1-fps pipeline) at this sampling rate and decoding. */
function pipelineWith(base: string, fastDecode: boolean, fps: number): string {
  // Another sampling rate is another fingerprint (1 fps keeps the key it always had).
  const pipeline = fps === 1 ? base : base.replace(':fps=1:', `:fps=${fps}:`);
  // Fast-decoded hashes differ slightly: never served for an exact request, nor the reverse.
  return fastDecode ? `${pipeline}:fastdecode` : pipeline;
}

/** The store key of a video (checks the file first: a clear error for a missing or empty one). */
export async function fingerprintKey(file: string, fastDecode = false, fps = 1): Promise<string> {
  const { absolute } = await checkInputFile(file);
  return contentKey(absolute, pipelineWith(FINGERPRINT_PIPELINE, fastDecode, fps));
}

/** The file's keys under the earlier pipelines (`EARLIER_PIPELINES`, in their order). */
export async function earlierKeys(file: string, fastDecode = false, fps = 1): Promise<string[]> {
  const { absolute } = await checkInputFile(file);
  return Promise.all(EARLIER_PIPELINES.map((base) => contentKey(absolute, pipelineWith(base, fastDecode, fps))));
}

/**
 * Whether `key` is the file's key under an earlier pipeline: the file is the content it was when
 * an earlier version added a member with that key.
 */
export async function isEarlierKey(file: string, key: string, fastDecode = false, fps = 1): Promise<boolean> {
  return (await earlierKeys(file, fastDecode, fps)).includes(key);
}

/** Fingerprint through the store: an unchanged video is never decoded twice. */
export async function fingerprintCached(
  file: string,
  store: FingerprintStore,
  options: FingerprintOptions & { key?: string } = {},
): Promise<CachedFingerprint> {
  const key = options.key ?? (await fingerprintKey(file, options.fastDecode === true, fingerprintFps(options)));
  const stored = await store.get(key);
  if (stored !== undefined) return { key, fingerprint: { ...stored, file }, fromStore: true };
  const fingerprint = await fingerprintVideo(file, options);
  await store.put(key, fingerprint);
  return { key, fingerprint, fromStore: false };
}
