import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabases, tempDir, testConfig } from '../helpers/services.js';
import { startService, type Role, type RunningService } from '../../src/main.js';
import { createLogger } from '../../src/logger.js';
import { decodeEventPayload, encodeEventPayload } from '../../src/services/participant.service.js';
import { FakeTelegram } from './fake-telegram.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('event invite: deep link and QR code', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ storage: 'local', env: { TELEGRAM_BOT_USERNAME: '@facepass_bot' } });
  });
  after(() => t.close());

  it('gives the owner the deep link with the event UUID as payload, as JSON or PNG', async () => {
    const owner = await t.photographer();
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: owner.headers, payload: { name: 'Party' } });
    const { id, event_uuid } = created.json<{ id: number; event_uuid: string }>();
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/events/${id}/invite`, headers: owner.headers });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<{ deep_link: string; qr_png_base64: string }>();
    assert.equal(body.deep_link, `https://t.me/facepass_bot?start=${event_uuid.replace(/-/g, '')}`);
    assert.ok(Buffer.from(body.qr_png_base64, 'base64').subarray(0, 8).equals(PNG_SIGNATURE));

    const png = await t.app.inject({ method: 'GET', url: `/api/v1/events/${id}/invite`, headers: { ...owner.headers, accept: 'image/png' } });
    assert.equal(png.statusCode, 200);
    assert.equal(png.headers['content-type'], 'image/png');
    assert.ok(png.rawPayload.subarray(0, 8).equals(PNG_SIGNATURE));

    const stranger = await t.photographer();
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/events/${id}/invite`, headers: stranger.headers })).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/events/${id}/invite` })).statusCode, 401);
  });

  it('round-trips payloads and rejects malformed ones', () => {
    const uuid = '550e8400-e29b-41d4-a716-446655440000';
    assert.equal(encodeEventPayload(uuid), '550e8400e29b41d4a716446655440000');
    assert.equal(decodeEventPayload(encodeEventPayload(uuid)), uuid);
    assert.equal(decodeEventPayload(uuid.toUpperCase()), uuid);
    for (const bad of ['', 'abc', `${encodeEventPayload(uuid)}0`, '550e8400e29b41d4a71644665544000g', '../../etc']) assert.equal(decodeEventPayload(bad), undefined);
  });
});

describe('invite without a known bot username', () => {
  it('answers 409 with a clear message', async () => {
    const t = await createTestApp({ storage: 'local' });
    try {
      const owner = await t.photographer();
      const created = await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: owner.headers, payload: { name: 'Party' } });
      const res = await t.app.inject({ method: 'GET', url: `/api/v1/events/${created.json<{ id: number }>().id}/invite`, headers: owner.headers });
      assert.equal(res.statusCode, 409);
      assert.match(res.json<{ message: string }>().message, /TELEGRAM_BOT_USERNAME/);
    } finally {
      await t.close();
    }
  });
});

describe('the bot role in the service', () => {
  const token = '654321:SERVICE-token';
  let fake: FakeTelegram;
  let dbs: Awaited<ReturnType<typeof createTestDatabases>>;
  let data: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    fake = new FakeTelegram(token);
    await fake.start();
    dbs = await createTestDatabases();
    data = await tempDir();
  });
  after(async () => {
    await fake.stop();
    await dbs.drop();
    await data.remove();
  });

  const start = (env: Record<string, string> = {}, roles: Role[] = ['api', 'bot']): Promise<RunningService> =>
    startService(
      testConfig({
        FACEPASS_DATA_DIR: data.dir,
        DATABASE_MAIN_URL: dbs.mainUrl,
        DATABASE_VECTOR_URL: dbs.vectorUrl,
        TELEGRAM_BOT_TOKEN: token,
        TELEGRAM_API_ROOT: fake.url,
        HOST: '127.0.0.1',
        ...env,
      }),
      roles,
      createLogger('silent'),
    );

  it('polls by default, answers commands, and invites use the username from getMe', async () => {
    const service = await start();
    try {
      assert.ok(fake.calls.some((c) => c.method === 'deleteWebhook'));
      const mark = fake.mark();
      fake.sendText(77, '/help');
      await fake.waitForText(77, /How it works/, mark);
      const { apiKey } = await service.deps.services.photographers.create({ email: `svc-${Date.now()}@example.com` });
      const headers = { authorization: `Bearer ${apiKey}` };
      const created = await fetch(`${service.apiUrl}/api/v1/events/`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'E' }) });
      const { id } = (await created.json()) as { id: number };
      const invite = (await (await fetch(`${service.apiUrl}/api/v1/events/${id}/invite`, { headers })).json()) as { deep_link: string };
      assert.match(invite.deep_link, new RegExp(`^https://t\\.me/${fake.username}\\?start=[0-9a-f]{32}$`));
    } finally {
      const keys = await service.deps.redis.keys(`${service.deps.config.queue.prefix}:bot:*`);
      if (keys.length > 0) await service.deps.redis.del(...keys);
      await service.stop();
    }
  });

  it('in webhook mode registers the webhook with a secret and serves it from the API', async () => {
    const service = await start({ TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/telegram/hook', TELEGRAM_WEBHOOK_SECRET: 'a-long-enough-secret-123' });
    try {
      const set = fake.calls.findLast((c) => c.method === 'setWebhook');
      assert.equal(set?.params.url, 'https://bot.example.com/telegram/hook');
      assert.equal(set?.params.secret_token, 'a-long-enough-secret-123');
      const update = { update_id: 900001, message: { message_id: 1, date: 0, chat: { id: 78, type: 'private' }, from: { id: 78, is_bot: false, first_name: 'W' }, text: '/help', entities: [{ type: 'bot_command', offset: 0, length: 5 }] } };
      const post = (secret: string) =>
        fetch(`${service.apiUrl}/telegram/hook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret }, body: JSON.stringify(update) });
      assert.equal((await post('wrong-secret-wrong-secret')).status, 401);
      const mark = fake.mark();
      assert.equal((await post('a-long-enough-secret-123')).status, 200);
      await fake.waitForText(78, /How it works/, mark);
    } finally {
      const keys = await service.deps.redis.keys(`${service.deps.config.queue.prefix}:bot:*`);
      if (keys.length > 0) await service.deps.redis.del(...keys);
      await service.stop();
    }
  });

  it('a bot-only process serves its own metrics on METRICS_PORT (loopback), apart from any API', async () => {
    const service = await start({ METRICS_PORT: '0' }, ['bot']);
    try {
      assert.equal(service.apiUrl, undefined);
      assert.match(service.metricsUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const mark = fake.mark();
      fake.sendText(79, '/help');
      await fake.waitForText(79, /How it works/, mark);
      const res = await fetch(service.metricsUrl!);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      const body = await res.text();
      assert.match(body, /^facepass_bot_updates_total\{type="message"\} [1-9]/m);
      assert.match(body, /^facepass_process_cpu_seconds_total /m);
      assert.equal((await fetch(service.metricsUrl!.replace('/metrics', '/'))).status, 404);
    } finally {
      const keys = await service.deps.redis.keys(`${service.deps.config.queue.prefix}:bot:*`);
      if (keys.length > 0) await service.deps.redis.del(...keys);
      await service.stop();
    }
  });
});
