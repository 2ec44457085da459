import crypto from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Hands a selfie from the API to a search worker through Redis for seconds only: the worker takes
 * it with GETDEL, and a TTL removes it even if no worker ever does. Selfies are never stored.
 */
export function createSelfieRepository(redis: Redis, options: { prefix: string; ttlSeconds: number }) {
  return {
    async stash(image: Buffer): Promise<string> {
      const key = `${options.prefix}:selfie:${crypto.randomUUID()}`;
      await redis.set(key, image, 'EX', options.ttlSeconds);
      return key;
    },
    /** Returns the selfie and deletes it; null when it expired or was taken. */
    async take(key: string): Promise<Buffer | null> {
      if (!key.startsWith(`${options.prefix}:selfie:`)) return null;
      return redis.getdelBuffer(key);
    },
    async discard(key: string): Promise<void> {
      await redis.del(key);
    },
  };
}
export type SelfieRepository = ReturnType<typeof createSelfieRepository>;
