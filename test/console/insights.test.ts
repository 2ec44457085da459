import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createTestApp, type TestApp } from '../helpers/app.js';

interface Insights {
  photos: { total: number; done: number; failed: number };
  faces: number;
  participants: { joined: number; consented: number; searched: number; found: number; live_subscribed: number };
  searches: { total: number; matched: number; match_rate: number | null; by_participants: number; by_photographer: number; public: number };
  deliveries: { by_search: number; live: number };
  hourly: { hour: string; uploads: number; joins: number; searches: number; matched_searches: number; live_deliveries: number }[];
}

describe('event insights and console read models', () => {
  let t: TestApp;
  let alice: { id: number; headers: { authorization: string } };
  let bob: { id: number; headers: { authorization: string } };
  before(async () => {
    t = await createTestApp();
    alice = await t.photographer();
    bob = await t.photographer();
  });
  after(() => t.close());

  const newEvent = async (headers: { authorization: string }, name: string) =>
    (await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers, payload: { name } })).json<{ id: number }>().id;

  /** Writes through the same repositories the upload, bot, search and live-delivery paths use. */
  const seed = async (eventId: number) => {
    const { photos, participants, searchAudit } = t.deps.repositories;
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) {
      const inserted = await photos.insertPending({
        event_id: eventId,
        s3_key: `events/${eventId}/${i}.jpg`,
        image_url: '',
        content_hash: crypto.randomBytes(32).toString('hex'),
        size_bytes: 1000,
        content_type: 'image/jpeg',
        original_name: `${i}.jpg`,
      });
      assert.ok(inserted, 'the event exists');
      ids.push(inserted.photo.id);
    }
    const done = { confidence: 0.9, width: 100, height: 100, preview_key: 'p', thumbnail_key: 't', model_pack: 'faceapi-resnet128' };
    await photos.markDone(ids[0]!, { ...done, face_count: 3 });
    await photos.markDone(ids[1]!, { ...done, face_count: 2 });
    await photos.markFailed(ids[2]!, 'not decodable');

    // Three participants join; two consent; one subscribes to live delivery.
    const base = 7_000_000 + eventId * 10;
    const [p1, p2, p3] = [await participants.upsert(base + 1, 'ru'), await participants.upsert(base + 2, 'en'), await participants.upsert(base + 3, null)];
    for (const p of [p1, p2, p3]) await participants.join(p.id, eventId);
    await participants.update(p1.id, { consent_at: new Date() });
    await participants.update(p2.id, { consent_at: new Date() });
    await participants.setLiveDelivery(p2.id, eventId, true);

    // p1 searches twice (one match, shown two photos); p2 searches once without match, then gets a live photo.
    const search = (caller_type: 'participant' | 'photographer' | 'public', caller_id: string, result_count: number) =>
      searchAudit.record({ event_id: eventId, caller_type, caller_id, result_count, best_similarity: result_count ? 0.9 : null, query_time_ms: 50 });
    await search('participant', String(p1.id), 2);
    await search('participant', String(p1.id), 0);
    await search('participant', String(p2.id), 0);
    await search('photographer', String(alice.id), 1);
    await search('public', 'hashed-address', 0);
    await participants.recordDeliveries(p1.id, eventId, [ids[0]!, ids[1]!]);
    await participants.recordPending(eventId, ids[0]!, [p2.id]);
    await participants.claimDeliveries(p2.id, [ids[0]!]);
    await participants.settleDeliveries(p2.id, [ids[0]!], 'sent');
    // A pending live delivery is not counted as delivered.
    await participants.recordPending(eventId, ids[1]!, [p2.id]);
  };

  it('counts photos, faces, participants, searches and deliveries of the event, with an hourly series', async () => {
    const eventId = await newEvent(alice.headers, 'Insights');
    const other = await newEvent(alice.headers, 'Other');
    await seed(eventId);
    await seed(other); // the same activity elsewhere must not leak in

    const res = await t.app.inject({ method: 'GET', url: `/api/v1/events/${eventId}/insights`, headers: alice.headers });
    assert.equal(res.statusCode, 200, res.body);
    const i = res.json<Insights>();
    assert.deepEqual(i.photos, { total: 4, done: 2, failed: 1 });
    assert.equal(i.faces, 5);
    assert.deepEqual(i.participants, { joined: 3, consented: 2, searched: 2, found: 2, live_subscribed: 1 });
    assert.deepEqual(i.searches, { total: 5, matched: 2, match_rate: 0.4, by_participants: 3, by_photographer: 1, public: 1 });
    assert.deepEqual(i.deliveries, { by_search: 2, live: 1 });
    // Everything happened within this test: one or two hours (if it straddles an hour boundary).
    assert.ok(i.hourly.length >= 1 && i.hourly.length <= 2);
    const sum = (k: 'uploads' | 'joins' | 'searches' | 'matched_searches' | 'live_deliveries') => i.hourly.reduce((s, h) => s + h[k], 0);
    assert.deepEqual([sum('uploads'), sum('joins'), sum('searches'), sum('matched_searches'), sum('live_deliveries')], [4, 3, 5, 2, 1]);
    assert.equal(new Date(i.hourly[0]!.hour).getUTCMinutes(), 0);

    const empty = await newEvent(alice.headers, 'Empty');
    const none = (await t.app.inject({ method: 'GET', url: `/api/v1/events/${empty}/insights`, headers: alice.headers })).json<Insights>();
    assert.equal(none.searches.match_rate, null);
    assert.deepEqual(none.hourly, []);
    assert.equal(none.photos.total, 0);
  });

  it("answers 404 for another photographer's event and counts only the caller's events", async () => {
    const eventId = await newEvent(alice.headers, 'Mine');
    await seed(eventId);
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/events/${eventId}/insights`, headers: bob.headers })).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/events/${eventId}/insights` })).statusCode, 401);

    const counts = await t.app.inject({ method: 'GET', url: `/api/v1/events/counts?ids=${eventId}`, headers: alice.headers });
    assert.deepEqual(counts.json(), [{ event_id: eventId, photos: 4, faces: 5, participants: 3 }]);
    const stolen = await t.app.inject({ method: 'GET', url: `/api/v1/events/counts?ids=${eventId}`, headers: bob.headers });
    assert.deepEqual(stolen.json(), []);
  });

  it('documents the insights endpoint in OpenAPI', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>();
    const op = doc.paths['/api/v1/events/{event_id}/insights']?.get;
    assert.ok(op);
    assert.ok(op.responses['200'] && op.responses['404']);
  });
});
