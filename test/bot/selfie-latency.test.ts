import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { groupPhoto, johns, selfie } from '../helpers/dev-event.js';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.js';
import { createLogger } from '../../src/logger.js';
import { createBot, type FacePassBot } from '../../src/bot/index.js';
import { startBot } from '../../src/bot/run.js';
import { FakeTelegram } from './fake-telegram.js';

const TOKEN = '777001:TEST-latency_token';

describe('telegram bot: the album is the first thing sent once results are known (throttler on)', () => {
  const fake = new FakeTelegram(TOKEN);
  let t: TestApp;
  let pipeline: TestPipeline;
  let bot: FacePassBot;
  let running: { stop(): Promise<void> };

  before(async () => {
    await fake.start();
    t = await createTestApp({ storage: 'local' });
    pipeline = await startPipeline(t, { workers: true });
    // As in production: Telegram's per-chat pace kept by the throttler.
    bot = createBot(
      TOKEN,
      { participants: t.deps.services.participants, logger: createLogger('silent'), redis: t.deps.redis, keyPrefix: t.deps.config.queue.prefix, fileIds: t.deps.repositories.telegramFiles },
      { apiRoot: fake.url },
    );
    running = await startBot(bot, { logger: createLogger('silent') });
  });
  after(async () => {
    await running?.stop();
    await pipeline?.close();
    if (t) {
      const keys = await t.deps.redis.keys(`${t.deps.config.queue.prefix}:bot:*`);
      if (keys.length > 0) await t.deps.redis.del(...keys);
      await t.close();
    }
    await fake.stop();
  });

  it('sends no indicator between the search and the album, and indicators do not hold the album back', async () => {
    const owner = await t.photographer();
    const event = await t.deps.services.events.create(owner.id, { name: 'Latency' });
    const people = await johns();
    for (let i = 0; i < 2; i++) {
      const form = new FormData();
      form.append('event_id', String(event.id));
      form.append('file', new Blob([await groupPhoto([people[0]!.files[i]!, people[1]!.files[i]!], 300 + i)]), `p${i}.jpg`);
      const res = await fetch(`${pipeline.api}/faces/upload`, { method: 'POST', headers: owner.headers, body: form });
      const { task_id } = (await res.json()) as { task_id: string };
      await pipeline.waitForJob('photos', task_id);
    }
    const user = 88_001;
    let mark = fake.mark();
    fake.sendText(user, `/start ${event.event_uuid.replace(/-/g, '')}`);
    await fake.waitForText(user, /Welcome to/, mark);
    mark = fake.mark();
    fake.press(user, 'consent:yes');
    await fake.waitForText(user, /Thank you! Now send me a selfie/, mark);

    mark = fake.mark();
    fake.sendPhoto(user, await selfie(people[0]!.files[5]!));
    await fake.waitForText(user, /\d/, mark, 60_000);
    const toChat = fake.callsTo(user, mark).map((c) => c.method);
    const album = toChat.findIndex((m) => m === 'sendMediaGroup' || m === 'sendPhoto');
    assert.ok(album > 0, `an album was sent: ${toChat.join(', ')}`);
    // One "sending photo…" while the search runs, then the album: nothing else spends the chat's budget first.
    assert.deepEqual(toChat.slice(0, album), ['sendChatAction'], `calls before the album: ${toChat.join(', ')}`);
  });
});
