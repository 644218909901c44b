import { contentKey } from './content-key.js';
import { CENTER_CROP, INNER_CROP, fingerprintFps, fingerprintVideo, type Fingerprint, type FingerprintOptions } from './fingerprint.js';
import { FingerprintStore } from './store.js';
import { checkInputFile } from '../media/input.js';
import { SAMPLE_SIZE } from '../media/sample.js';

/**
 * Everything that changes a fingerprint's bits. Bump when the sampler or the hash changes, so the
 * store never serves hashes made by another method.
 */
export const FINGERPRINT_PIPELINE = `vdedup-fp3:fps=1:round=up:scale=${SAMPLE_SIZE}x${SAMPLE_SIZE}:area:gray:phash64:trim32:center${CENTER_CROP}:inner${INNER_CROP}`;

export interface CachedFingerprint {
  key: string;
  fingerprint: Fingerprint;
  /** True when read from the store (nothing decoded). */
  fromStore: boolean;
}

/** The store key of a video (checks the file first: a clear error for a missing or empty one). */
export async function fingerprintKey(file: string, fastDecode = false, fps = 1): Promise<string> {
  const { absolute } = await checkInputFile(file);
  // Another sampling rate is another fingerprint (1 fps keeps the key it always had).
  const pipeline = fps === 1 ? FINGERPRINT_PIPELINE : FINGERPRINT_PIPELINE.replace(':fps=1:', `:fps=${fps}:`);
  // Fast-decoded hashes differ slightly: never served for an exact request, nor the reverse.
  return contentKey(absolute, fastDecode ? `${pipeline}:fastdecode` : pipeline);
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
