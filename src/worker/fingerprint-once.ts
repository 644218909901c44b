import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { fingerprintCached, fingerprintKey, type CachedFingerprint } from '../fingerprint/cached.js';
import { fingerprintFps, type FingerprintOptions } from '../fingerprint/fingerprint.js';
import type { FingerprintStore } from '../fingerprint/store.js';
import { VdedupError } from '../errors.js';
import { inputName, type VideoInput } from '../media/input.js';

const POLL_MS = 250;

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * Fingerprint through the store, with a Redis lock per content key: when two jobs (on any
 * machines) ask for the same video at once, one decodes and the other waits for the store entry.
 */
export async function fingerprintOnce(
  input: VideoInput,
  deps: {
    store: FingerprintStore;
    redis: Redis;
    prefix: string;
    /** A lock outlives a killed holder by at most this long (the holder renews it while decoding): the job lock's duration. */
    lockMs: number;
  },
  options: FingerprintOptions = {},
): Promise<CachedFingerprint> {
  const file = inputName(input);
  const key = await fingerprintKey(input, false, fingerprintFps(options));
  const lockKey = `${deps.prefix}:lock:fingerprint:${key}`;
  const token = randomBytes(8).toString('hex');
  for (;;) {
    const stored = await deps.store.get(key);
    if (stored !== undefined) return { key, fingerprint: { ...stored, file }, fromStore: true };
    if ((await deps.redis.set(lockKey, token, 'PX', deps.lockMs, 'NX')) === 'OK') break;
    if (options.signal?.aborted === true) throw new VdedupError('ABORTED', 'aborted while another job fingerprinted this video', { file });
    await sleep(POLL_MS);
  }
  const renew = setInterval(() => void deps.redis.pexpire(lockKey, deps.lockMs).catch(() => undefined), deps.lockMs / 3);
  try {
    return await fingerprintCached(input, deps.store, { ...options, key });
  } finally {
    clearInterval(renew);
    await deps.redis.eval(RELEASE, 1, lockKey, token).catch(() => undefined);
  }
}
