// Helpers of the tools that start the service against the shared Redis: the API fuzzing run
// (test/api/run.mjs), the service load benchmark (bench/service-load.mjs) and the tests'
// service helpers (test/helpers/service.ts). Types: service-helpers.d.mts.
import net from 'node:net';
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

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}
