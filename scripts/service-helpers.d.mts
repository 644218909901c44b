export function deleteRedisPrefix(redisUrl: string, prefix: string): Promise<void>;
export function freePort(): Promise<number>;
