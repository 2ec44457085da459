import { Redis, type RedisOptions } from 'ioredis';

/** A Redis connection suitable for BullMQ (workers need `maxRetriesPerRequest: null`). */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, ...options });
}
