import { contentKey } from './content-key.js';
import { CENTER_CROP, INNER_CROP, REGION_SAMPLES, STRIP_ASPECT, fingerprintFps, fingerprintVideo, type Fingerprint, type FingerprintOptions } from './fingerprint.js';
import { FingerprintStore } from './store.js';
import { checkVideoInput, inputName, type VideoInput } from '../media/input.js';
import { SAMPLE_SIZE } from '../media/sample.js';

/**
 * Everything that changes a fingerprint's bits. Bump when the sampler or the hash changes, so the
 * store never serves hashes made by another method.
 */
export const FINGERPRINT_PIPELINE = `vdedup-fp5:from-first-frame:fps=1:round=up:scale=${SAMPLE_SIZE}x${SAMPLE_SIZE}:area:gray:phash64:trim32:center${CENTER_CROP}:inner${INNER_CROP}:strip${STRIP_ASPECT.toFixed(4)}:regions${REGION_SAMPLES}`;

export interface CachedFingerprint {
  key: string;
  fingerprint: Fingerprint;
  /** True when read from the store (nothing decoded). */
  fromStore: boolean;
}

/**
 * The pipelines of earlier versions, newest first (before strip and region hashes; time from the
 * container's 0 instead of the first frame; before the inner half; before center crops). A
 * collection member added under one keeps that key; a file that still gives it under the same
 * pipeline holds the same content (`isEarlierKey`).
 */
export const EARLIER_PIPELINES = [
  `vdedup-fp4:from-first-frame:fps=1:round=up:scale=${SAMPLE_SIZE}x${SAMPLE_SIZE}:area:gray:phash64:trim32:center${CENTER_CROP}:inner${INNER_CROP}`,
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

/**
 * The store key of a video (checks it first: a clear error for a missing or empty one). A member
 * of an archive has the key of the same bytes as a file: moved between shards or extracted, it is
 * the same entry.
 */
export async function fingerprintKey(video: VideoInput, fastDecode = false, fps = 1): Promise<string> {
  const { input } = await checkVideoInput(video);
  return contentKey(input, pipelineWith(FINGERPRINT_PIPELINE, fastDecode, fps));
}

/** The video's keys under the earlier pipelines (`EARLIER_PIPELINES`, in their order). */
export async function earlierKeys(video: VideoInput, fastDecode = false, fps = 1): Promise<string[]> {
  const { input } = await checkVideoInput(video);
  return Promise.all(EARLIER_PIPELINES.map((base) => contentKey(input, pipelineWith(base, fastDecode, fps))));
}

/**
 * Whether `key` is the file's key under an earlier pipeline: the file is the content it was when
 * an earlier version added a member with that key.
 */
export async function isEarlierKey(video: VideoInput, key: string, fastDecode = false, fps = 1): Promise<boolean> {
  return (await earlierKeys(video, fastDecode, fps)).includes(key);
}

/**
 * Fingerprint through the store: an unchanged video is never decoded twice (nor a member of an
 * archive whose bytes were seen before, as a file or in another archive).
 */
export async function fingerprintCached(
  video: VideoInput,
  store: FingerprintStore,
  options: FingerprintOptions & { key?: string } = {},
): Promise<CachedFingerprint> {
  const key = options.key ?? (await fingerprintKey(video, options.fastDecode === true, fingerprintFps(options)));
  const stored = await store.get(key);
  if (stored !== undefined) return { key, fingerprint: { ...stored, file: inputName(video) }, fromStore: true };
  const fingerprint = await fingerprintVideo(video, options);
  await store.put(key, fingerprint);
  return { key, fingerprint, fromStore: false };
}
