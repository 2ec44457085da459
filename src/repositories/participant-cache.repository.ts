import crypto from 'node:crypto';
import type { Redis } from 'ioredis';

/** The window of the per-participant search limit. */
export const SEARCH_WINDOW_MS = 60_000;

/**
 * A sliding-window log in one sorted set per participant (score = time of each search), checked
 * and updated atomically in Redis, so several bot processes share one limit. Unlike a counter
 * per clock minute, no burst of 2 × the limit passes across a minute boundary: a search is
 * allowed only while fewer than `limit` were allowed in the 60 s before it. Refused attempts are
 * not recorded (a participant who keeps trying is not locked out for longer). Answers 0 when
 * allowed, otherwise the milliseconds until the oldest search leaves the window.
 */
const SLIDING_WINDOW = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
`;

/** The answer of `takeSearchSlot`: allowed, or how long until the next search is. */
export type SearchSlot = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Short-lived participant state in Redis: the per-minute search limit, and the last selfie's
 * embedding held for a few minutes so the participant can opt in to live delivery after seeing
 * results. The embedding reaches db_vector only on opt-in; otherwise it expires.
 */
export function createParticipantCacheRepository(
  redis: Redis,
  options: {
    prefix: string;
    embeddingTtlSeconds: number;
    /** The clock of the search limit (tests move it). @defaultValue Date.now */
    now?: () => number;
  },
) {
  const now = options.now ?? Date.now;
  const embeddingKey = (participantId: number, eventId: number): string => `${options.prefix}:bot:embedding:${participantId}:${eventId}`;
  return {
    /** Takes one of the participant's `perMinute` searches of the last 60 s (sliding window), if one is free. */
    async takeSearchSlot(participantId: number, perMinute: number): Promise<SearchSlot> {
      const key = `${options.prefix}:bot:searches:${participantId}`;
      const at = now();
      const wait = Number(await redis.eval(SLIDING_WINDOW, 1, key, at, SEARCH_WINDOW_MS, perMinute, `${at}:${crypto.randomUUID()}`));
      return wait === 0 ? { allowed: true } : { allowed: false, retryAfterMs: wait };
    },

    async holdEmbedding(participantId: number, eventId: number, selfie: { vector: number[]; modelPack: string }): Promise<void> {
      await redis.set(embeddingKey(participantId, eventId), JSON.stringify(selfie), 'EX', options.embeddingTtlSeconds);
    },

    /** The held embedding, left in place; undefined when it expired. */
    async peekEmbedding(participantId: number, eventId: number): Promise<{ vector: number[]; modelPack: string } | undefined> {
      const raw = await redis.get(embeddingKey(participantId, eventId));
      return raw ? (JSON.parse(raw) as { vector: number[]; modelPack: string }) : undefined;
    },

    /** Takes the held embedding (and removes it); undefined when it expired. */
    async takeEmbedding(participantId: number, eventId: number): Promise<{ vector: number[]; modelPack: string } | undefined> {
      const raw = await redis.getdel(embeddingKey(participantId, eventId));
      return raw ? (JSON.parse(raw) as { vector: number[]; modelPack: string }) : undefined;
    },

    async dropEmbeddings(participantId: number): Promise<void> {
      const keys = await redis.keys(`${options.prefix}:bot:embedding:${participantId}:*`);
      if (keys.length > 0) await redis.del(...keys);
    },
  };
}
export type ParticipantCacheRepository = ReturnType<typeof createParticipantCacheRepository>;
