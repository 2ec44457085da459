import type { Redis } from 'ioredis';

/**
 * Short-lived participant state in Redis: the per-minute search counter, and the last selfie's
 * embedding held for a few minutes so the participant can opt in to live delivery after seeing
 * results. The embedding reaches db_vector only on opt-in; otherwise it expires.
 */
export function createParticipantCacheRepository(redis: Redis, options: { prefix: string; embeddingTtlSeconds: number }) {
  const embeddingKey = (participantId: number, eventId: number): string => `${options.prefix}:bot:embedding:${participantId}:${eventId}`;
  return {
    /** Counts one search in the current minute; true while within `perMinute`. */
    async takeSearchSlot(participantId: number, perMinute: number): Promise<boolean> {
      const key = `${options.prefix}:bot:searches:${participantId}:${Math.floor(Date.now() / 60_000)}`;
      const [[, count]] = (await redis.multi().incr(key).expire(key, 120).exec()) as [[Error | null, number]];
      return count <= perMinute;
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
