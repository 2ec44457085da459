import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createTestApp, type TestApp } from '../helpers/app.js';

type Json = Record<string, unknown>;

describe('event API (seed contract, auth, isolation)', () => {
  let t: TestApp;
  let alice: { id: number; headers: { authorization: string } };
  let bob: { id: number; headers: { authorization: string } };

  before(async () => {
    t = await createTestApp();
    alice = await t.photographer();
    bob = await t.photographer();
  });
  after(() => t.close());

  const create = async (headers: Record<string, string>, body: Json) =>
    t.app.inject({ method: 'POST', url: '/api/v1/events/', headers, payload: body });

  it('creates an event with the seed fields and types', async () => {
    const uuid = crypto.randomUUID();
    const res = await create(alice.headers, {
      event_uuid: uuid,
      name: 'Свадьба Иван и Мария',
      description: 'Свадебная церемония',
      location: 'Москва, Парк Горького',
      event_date: '2024-06-15T15:00:00Z',
    });
    assert.equal(res.statusCode, 201);
    const body = res.json<Json>();
    assert.equal(typeof body.id, 'number');
    assert.equal(body.event_uuid, uuid);
    assert.equal(body.name, 'Свадьба Иван и Мария');
    assert.equal(body.description, 'Свадебная церемония');
    assert.equal(body.location, 'Москва, Парк Горького');
    assert.equal(new Date(body.event_date as string).toISOString(), '2024-06-15T15:00:00.000Z');
    assert.equal(body.is_active, true);
    assert.ok(!Number.isNaN(Date.parse(body.created_at as string)));
    assert.equal(body.photographer_id, undefined, 'owner is not exposed');
  });

  it('generates a UUID when none is given and accepts a name alone', async () => {
    const res = await create(alice.headers, { name: 'Conference' });
    assert.equal(res.statusCode, 201);
    const body = res.json<Json>();
    assert.match(body.event_uuid as string, /^[0-9a-f-]{36}$/);
    assert.equal(body.description, null);
    assert.equal(body.event_date, null);
  });

  it('answers 409 for a duplicate event_uuid, also across photographers', async () => {
    const uuid = crypto.randomUUID();
    assert.equal((await create(alice.headers, { event_uuid: uuid, name: 'A' })).statusCode, 201);
    const again = await create(bob.headers, { event_uuid: uuid.toUpperCase(), name: 'B' });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json<Json>().error, 'conflict');
  });

  it('answers 400 with field-level messages for bad input', async () => {
    const cases: [Json, string][] = [
      [{}, 'body.name'],
      [{ name: '' }, 'body.name'],
      [{ name: '   ' }, 'body.name'],
      [{ name: 'x', event_date: 'tomorrow' }, 'body.event_date'],
      [{ name: 'x', event_uuid: 'not-a-uuid' }, 'body.event_uuid'],
      [{ name: 'x', unknown_field: 1 }, 'body.unknown_field'],
      [{ name: 'x'.repeat(201) }, 'body.name'],
    ];
    for (const [body, field] of cases) {
      const res = await create(alice.headers, body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      const json = res.json<{ error: string; details: { field: string }[] }>();
      assert.equal(json.error, 'validation_error');
      assert.ok(json.details.some((d) => d.field === field), `${JSON.stringify(body)} → ${JSON.stringify(json.details)}`);
    }
    // The messages say what to send, not what the validator tried.
    const said = async (body: Json, method: 'POST' | 'PATCH' = 'POST'): Promise<string> => {
      const res = method === 'POST' ? await create(alice.headers, body) : await t.app.inject({ method, url: `/api/v1/events/${created.id}`, headers: alice.headers, payload: body });
      assert.equal(res.statusCode, 400, res.body);
      return res.json<{ message: string }>().message;
    };
    const created = (await create(alice.headers, { name: 'Messages' })).json<{ id: number }>();
    assert.equal(await said({ name: 'x', event_date: 'tomorrow' }), 'body.event_date must be an RFC 3339 date-time with a time zone, e.g. 2024-06-15T15:00:00Z (or null)');
    assert.equal(await said({ event_date: 12345 }, 'PATCH'), 'body.event_date must be an RFC 3339 date-time with a time zone, e.g. 2024-06-15T15:00:00Z (or null)');
    assert.equal(await said({ name: 'x', unknown_field: 1 }), 'body.unknown_field is not a known field');
    assert.equal(await said({}, 'PATCH'), 'body must set at least 1 field');
    assert.equal(await said({}), 'body.name is required');
    const listed = await t.app.inject({ method: 'GET', url: `/api/v1/faces/event/${created.id}?status=bogus`, headers: alice.headers });
    assert.equal(listed.json<{ message: string }>().message, 'querystring.status must be one of "pending", "processing", "done", "failed"');

    const malformed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events/',
      headers: { ...alice.headers, 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    assert.equal(malformed.statusCode, 400);
  });

  it('answers 401 without a valid key', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 'Basic abc' }, { authorization: 'Bearer fp_forged' }]) {
      for (const [method, url] of [['GET', '/api/v1/events/'], ['POST', '/api/v1/events/'], ['GET', '/api/v1/events/1'], ['PATCH', '/api/v1/events/1'], ['DELETE', '/api/v1/events/1']] as const) {
        const res = await t.app.inject({ method, url, headers, payload: method === 'POST' || method === 'PATCH' ? { name: 'x' } : undefined });
        assert.equal(res.statusCode, 401, `${method} ${url} with ${JSON.stringify(headers)}`);
      }
    }
  });

  it('lists only the caller’s events, newest first, paginated with X-Total-Count', async () => {
    const carol = await t.photographer();
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await create(carol.headers, { name: `E${i}` })).json<{ id: number }>().id);
    const page1 = await t.app.inject({ method: 'GET', url: '/api/v1/events/?limit=2', headers: carol.headers });
    assert.equal(page1.statusCode, 200);
    assert.equal(page1.headers['x-total-count'], '5');
    assert.deepEqual(page1.json<{ id: number }[]>().map((e) => e.id), [ids[4], ids[3]]);
    const page3 = await t.app.inject({ method: 'GET', url: '/api/v1/events?skip=4&limit=2', headers: carol.headers });
    assert.deepEqual(page3.json<{ id: number }[]>().map((e) => e.id), [ids[0]]);
    for (const q of ['limit=0', 'limit=1000', 'skip=-1', 'limit=abc']) {
      assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/events/?${q}`, headers: carol.headers })).statusCode, 400, q);
    }
    const bobs = await t.app.inject({ method: 'GET', url: '/api/v1/events/?limit=200', headers: bob.headers });
    assert.ok(bobs.json<{ id: number }[]>().every((e) => !ids.includes(e.id)));
  });

  it('gets, updates and deletes only the owner’s event; another photographer gets 404', async () => {
    const made = (await create(alice.headers, { name: 'Private', location: 'Here' })).json<{ id: number; event_uuid: string }>();
    const url = `/api/v1/events/${made.id}`;

    // Bob probes Alice's event every way he can.
    assert.equal((await t.app.inject({ method: 'GET', url, headers: bob.headers })).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'PATCH', url, headers: bob.headers, payload: { name: 'Hijacked' } })).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'DELETE', url, headers: bob.headers })).statusCode, 404);
    const unchanged = await t.app.inject({ method: 'GET', url, headers: alice.headers });
    assert.equal(unchanged.json<Json>().name, 'Private');
    assert.equal(unchanged.json<Json>().is_active, true);

    const patched = await t.app.inject({ method: 'PATCH', url, headers: alice.headers, payload: { name: 'Renamed', location: null } });
    assert.equal(patched.statusCode, 200);
    assert.equal(patched.json<Json>().name, 'Renamed');
    assert.equal(patched.json<Json>().location, null);
    assert.ok(patched.json<Json>().updated_at);

    assert.equal((await t.app.inject({ method: 'PATCH', url, headers: alice.headers, payload: {} })).statusCode, 400);
    assert.equal((await t.app.inject({ method: 'PATCH', url, headers: alice.headers, payload: { event_uuid: crypto.randomUUID() } })).statusCode, 400);

    const deleted = await t.app.inject({ method: 'DELETE', url, headers: alice.headers });
    assert.equal(deleted.statusCode, 202);
    assert.equal(deleted.json<Json>().status, 'deleting');
    assert.equal((await t.app.inject({ method: 'GET', url, headers: alice.headers })).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'DELETE', url, headers: alice.headers })).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/events/uuid/${made.event_uuid}` })).statusCode, 404);
  });

  it('answers 404 for unknown ids and 400 for malformed ones', async () => {
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/events/999999', headers: alice.headers })).statusCode, 404);
    for (const id of ['abc', '0', '-1', '1.5', '99999999999']) {
      assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/events/${id}`, headers: alice.headers })).statusCode, 400, id);
    }
  });

  it('serves the public view by UUID without a key, only for active events, without internal fields', async () => {
    const made = (await create(alice.headers, { name: 'Open day', location: 'Hall', event_date: '2025-01-02T10:00:00Z' })).json<{ id: number; event_uuid: string }>();
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/events/uuid/${made.event_uuid}` });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(Object.keys(res.json<Json>()).sort(), ['description', 'event_date', 'event_uuid', 'is_active', 'location', 'name']);
    assert.equal(res.json<Json>().name, 'Open day');

    await t.app.inject({ method: 'PATCH', url: `/api/v1/events/${made.id}`, headers: alice.headers, payload: { is_active: false } });
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/events/uuid/${made.event_uuid}` })).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/events/uuid/${crypto.randomUUID()}` })).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/events/uuid/not-a-uuid' })).statusCode, 400);
  });

  it('rejects a revoked key', async () => {
    const email = `revoke-${Date.now()}@example.com`;
    const dave = await t.photographer(email);
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/events/', headers: dave.headers })).statusCode, 200);
    const { apiKey } = await t.deps.services.photographers.issueKey(email, { revokeOthers: true });
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/events/', headers: dave.headers })).statusCode, 401);
    const fresh = await t.app.inject({ method: 'GET', url: '/api/v1/events/', headers: { authorization: `Bearer ${apiKey}` } });
    assert.equal(fresh.statusCode, 200);
  });

  it('records a key\'s use at most once a minute', async () => {
    const erin = await t.photographer();
    const main = t.deps.dbs.main;
    const lastUsed = async (): Promise<number | undefined> =>
      (await main.selectFrom('api_keys').select('last_used_at').where('photographer_id', '=', erin.id).executeTakeFirstOrThrow()).last_used_at?.getTime();
    const call = async (): Promise<void> => assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/events/', headers: erin.headers })).statusCode, 200);
    await call();
    const first = await lastUsed();
    assert.ok(first, 'first use recorded');
    await call();
    assert.equal(await lastUsed(), first, 'a second use within the minute writes nothing');
    // Two minutes later (moved back in the row rather than waited for).
    await main.updateTable('api_keys').set({ last_used_at: new Date(first - 120_000) }).where('photographer_id', '=', erin.id).execute();
    await call();
    assert.ok((await lastUsed())! >= first, 'a use after the minute is recorded');
  });

  it('serves health, readiness and OpenAPI docs; collects metrics', async () => {
    assert.equal((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200, ready.body);
    assert.deepEqual(ready.json(), { status: 'ok', checks: { db_main: 'ok', db_vector: 'ok', redis: 'ok', storage: 'ok' } });
    // Metrics are collected here but served on their own listener (test/api/edge.test.ts).
    assert.equal((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404);
    assert.match(await t.app.metrics.metrics(), /facepass_http_request_duration_seconds_bucket/);
    const spec = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, unknown> }>();
    for (const path of ['/api/v1/events/', '/api/v1/events/{event_id}', '/api/v1/events/uuid/{event_uuid}']) assert.ok(spec.paths[path], path);
    assert.equal((await t.app.inject({ method: 'GET', url: '/docs/' })).statusCode, 200);
    assert.equal((await t.app.inject({ method: 'GET', url: '/nope' })).json<Json>().error, 'not_found');
  });
});
