// Delete every Redis key of one deployment prefix (`<prefix>:*`): what the API fuzzing run
// (test/api/run.mjs) and the service load benchmark (bench/service-load.mjs) leave behind.
import { Redis } from 'ioredis';

/** SCAN + DEL over `<prefix>:*`, 1,000 keys at a time; rejects when Redis cannot be reached. */
export async function deleteRedisPrefix(redisUrl, prefix) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
