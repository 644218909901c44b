import { Redis, type RedisOptions } from 'ioredis';
import type { ServiceConfig } from '../config/service.js';

// Apart from the job contract (contract.ts) on purpose: ioredis is slow to load, and every CLI
// command (through the queue names in `vdedup worker --help`) would otherwise pay at start.

/**
 * ioredis connections. Producers fail fast while Redis is away (the API answers 503 at once
 * instead of queueing commands in memory); workers and event listeners wait for it forever, as
 * BullMQ requires for blocking connections.
 */
export function redisConnection(config: ServiceConfig, role: 'producer' | 'blocking'): Redis {
  const common: RedisOptions = {
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
    connectionName: `vdedup-${role}`,
  };
  const options: RedisOptions =
    role === 'producer'
      ? { ...common, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 3000 }
      : { ...common, maxRetriesPerRequest: null, enableOfflineQueue: true };
  const redis = new Redis(config.redisUrl, options);
  // Errors are reported through status checks and failed commands; an unhandled 'error' event
  // would crash the process while Redis is down.
  redis.on('error', () => undefined);
  return redis;
}
