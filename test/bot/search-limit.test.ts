import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createRedis } from '../../src/queue/redis.js';
import { createParticipantCacheRepository, SEARCH_WINDOW_MS } from '../../src/repositories/participant-cache.repository.js';
import { TEST_REDIS_URL } from '../helpers/services.js';

describe('per-participant search limit: a sliding window, not a counter per clock minute', () => {
  const redis = createRedis(TEST_REDIS_URL);
  const prefix = `fpq_limit_${crypto.randomBytes(4).toString('hex')}`;
  let clock = 0;
  const cache = createParticipantCacheRepository(redis, { prefix, embeddingTtlSeconds: 60, now: () => clock });
  const LIMIT = 5;
  const take = async (participantId: number, n: number): Promise<boolean[]> => {
    const answers: boolean[] = [];
    for (let i = 0; i < n; i++) answers.push((await cache.takeSearchSlot(participantId, LIMIT)).allowed);
    return answers;
  };

  before(() => {
    // Just before a clock minute ends.
    clock = 1_000 * SEARCH_WINDOW_MS - 500;
  });
  after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('a burst across a minute boundary gets the limit, not twice the limit', async () => {
    assert.deepEqual(await take(1, LIMIT), Array(LIMIT).fill(true));
    clock += 1_000; // the next clock minute
    assert.deepEqual(await take(1, LIMIT), Array(LIMIT).fill(false));
    const refused = await cache.takeSearchSlot(1, LIMIT);
    assert.deepEqual(refused, { allowed: false, retryAfterMs: SEARCH_WINDOW_MS - 1_000 });
    // Another participant has a window of their own.
    assert.deepEqual(await take(2, 1), [true]);
  });

  it('a slot frees exactly when the oldest search leaves the window; refused attempts do not count', async () => {
    const participant = 3;
    const start = clock;
    assert.deepEqual(await take(participant, 1), [true]);
    clock = start + 10_000;
    assert.deepEqual(await take(participant, LIMIT), [true, true, true, true, false]);
    clock = start + SEARCH_WINDOW_MS - 1;
    assert.deepEqual(await cache.takeSearchSlot(participant, LIMIT), { allowed: false, retryAfterMs: 1 });
    clock = start + SEARCH_WINDOW_MS;
    assert.deepEqual(await take(participant, 2), [true, false]);
    // The four taken at +10 s leave the window together.
    clock = start + 10_000 + SEARCH_WINDOW_MS;
    assert.deepEqual(await take(participant, LIMIT), [true, true, true, true, false]);
  });
});
