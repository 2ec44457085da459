import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';

/**
 * Searches first, across every worker process: a selfie search marks itself in flight in Redis
 * while it runs, and photo analysis, between two detector runs (a tile takes ~0.1 s), waits while
 * any search is in flight. On 2 cores the detector's threads otherwise take the CPU a 50 ms search
 * needs, and the search waits behind whole tiles of several photos.
 *
 * In flight = a member of a sorted set scored by its expiry: a search whose process died stops
 * counting after `ttlMs`, never holding analysis for longer. Analysis waits at most `maxWaitMs` per
 * pause, so a flood of searches slows the backlog down but never stops it.
 */
export interface SearchGate {
  /** Runs a search, counted in flight meanwhile. */
  during<T>(search: () => Promise<T>): Promise<T>;
  /** Resolves once no search is in flight, or after `maxWaitMs`. */
  yieldToSearches(): Promise<void>;
  /** Searches in flight now (all processes). */
  inFlight(): Promise<number>;
}

export function createSearchGate(redis: Redis, options: { prefix: string; maxWaitMs: number; ttlMs?: number; pollMs?: number }): SearchGate {
  const key = `${options.prefix}:search-gate`;
  const ttlMs = options.ttlMs ?? 30_000;
  const pollMs = options.pollMs ?? 15;
  // Searches of this process: the common single-process case answers without a Redis round trip.
  let local = 0;
  const inFlight = async (): Promise<number> => {
    const now = Date.now();
    const [, count] = (await redis.multi().zremrangebyscore(key, '-inf', now).zcard(key).exec()) ?? [];
    return Number(count?.[1] ?? 0);
  };
  return {
    async during(search) {
      const token = crypto.randomUUID();
      local++;
      await redis.zadd(key, Date.now() + ttlMs, token);
      try {
        return await search();
      } finally {
        local--;
        await redis.zrem(key, token).catch(() => undefined);
      }
    },
    async yieldToSearches() {
      if (options.maxWaitMs <= 0) return;
      const until = Date.now() + options.maxWaitMs;
      while (local > 0 || (await inFlight()) > 0) {
        if (Date.now() >= until) return;
        await sleep(pollMs);
      }
    },
    inFlight,
  };
}
