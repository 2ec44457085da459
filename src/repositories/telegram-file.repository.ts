import type { Redis } from 'ioredis';

/** What a cached Telegram file is: a photo's preview (sent as a photo) or its original (a document). */
export type TelegramFileKind = 'preview' | 'original';

/** How long an event's file_ids are kept after the last one was added. */
const FILE_ID_TTL_SECONDS = 90 * 24 * 3600;

/** The bot's id: the part of its token before the colon. */
export const botIdOf = (token: string): string => token.split(':')[0] ?? token;

/**
 * The Telegram `file_id` of every preview and original the bot uploaded, so each file is uploaded
 * to Telegram once and sent by reference afterwards (to the next participant, the next page, the
 * next live delivery).
 *
 * Kept in Redis rather than in a column of the photo row because a file_id is valid only for the
 * bot that received it: keyed by the bot's id, a new token of another bot starts empty instead of
 * answering 400 for every cached photo, and a database shared by two installs never mixes them. It
 * is a cache, not data: losing it (a Redis without persistence) costs one upload per photo again.
 * One hash per event, with a TTL refreshed on every write, so a finished event's ids expire without
 * a hook in the deletion cascade (photo ids are never reused, so a deleted photo's id is never asked for).
 */
export function createTelegramFileRepository(redis: Redis, options: { prefix: string; botId: string }) {
  const key = (eventId: number): string => `${options.prefix}:bot:file-ids:${options.botId}:${eventId}`;
  const field = (kind: TelegramFileKind, faceId: number): string => `${kind}:${faceId}`;
  return {
    /** The cached file_ids of these photos (missing ones are absent from the map). */
    async get(eventId: number, kind: TelegramFileKind, faceIds: number[]): Promise<Map<number, string>> {
      if (faceIds.length === 0) return new Map();
      const values = await redis.hmget(key(eventId), ...faceIds.map((id) => field(kind, id)));
      return new Map(faceIds.flatMap((id, i) => (values[i] ? [[id, values[i]] as const] : [])));
    },

    async set(eventId: number, kind: TelegramFileKind, fileIds: Map<number, string>): Promise<void> {
      if (fileIds.size === 0) return;
      const entries = [...fileIds].flatMap(([faceId, fileId]) => [field(kind, faceId), fileId]);
      await redis.multi().hset(key(eventId), ...entries).expire(key(eventId), FILE_ID_TTL_SECONDS).exec();
    },

    /** Drops file_ids Telegram refused (the photo is uploaded again, and its new id cached). */
    async forget(eventId: number, kind: TelegramFileKind, faceIds: number[]): Promise<void> {
      if (faceIds.length > 0) await redis.hdel(key(eventId), ...faceIds.map((id) => field(kind, id)));
    },
  };
}
export type TelegramFileRepository = ReturnType<typeof createTelegramFileRepository>;
