import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from './helpers/app.js';
import { startPipeline, type TestPipeline } from './helpers/pipeline.js';
import { sql } from 'kysely';
import { createDeleteEventHandler } from '../src/workers/delete-event.worker.js';
import { createIndexEventVectorsHandler } from '../src/workers/index-event-vectors.worker.js';
import { createLogger } from '../src/logger.js';
import { createVectorIndexRepository } from '../src/repositories/vector-index.repository.js';

const unit = `[${Array.from({ length: 512 }, (_, i) => (i === 3 ? 1 : 0)).join(',')}]`;

/** Seeds an event with photos, embeddings and stored objects, as ingest would leave them. */
async function seedEvent(t: TestApp, headers: { authorization: string }, photos: number): Promise<number> {
  const event = await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers, payload: { name: 'To delete' } });
  const eventId = event.json<{ id: number }>().id;
  for (let i = 0; i < photos; i++) {
    const key = `events/${eventId}/${i}.jpg`;
    await t.deps.storage.put(key, Buffer.from(`photo ${i}`), 'image/jpeg');
    await t.deps.storage.put(`events/${eventId}/previews/${i}.jpg`, Buffer.from(`preview ${i}`), 'image/jpeg');
    const row = await t.deps.dbs.main
      .insertInto('faces')
      .values({ event_id: eventId, image_url: key, s3_key: key, preview_key: `events/${eventId}/previews/${i}.jpg`, status: 'done', face_count: 2 })
      .returning('id')
      .executeTakeFirstOrThrow();
    for (let f = 0; f < 2; f++) {
      await t.deps.dbs.vector
        .insertInto('face_embeddings')
        .values({ face_id: row.id, event_id: eventId, embedding: unit, bbox_x: 0, bbox_y: 0, bbox_width: 9, bbox_height: 9, detection_score: 0.9, model_pack: 'test' })
        .execute();
    }
  }
  return eventId;
}

async function counts(t: TestApp, eventId: number) {
  return {
    event: (await t.deps.repositories.events.exists(eventId)) ? 1 : 0,
    photos: await t.deps.repositories.photos.countByEvent(eventId),
    embeddings: await t.deps.repositories.embeddings.countByEvent(eventId),
    objects: (await t.deps.storage.list(`events/${eventId}/`)).length,
  };
}

describe('event deletion cascade (db_main, db_vector, storage)', () => {
  let t: TestApp;
  let pipeline: TestPipeline;
  before(async () => {
    t = await createTestApp();
    pipeline = await startPipeline(t, { handlers: { 'delete-event': createDeleteEventHandler({ cleanup: t.deps.services.eventCleanup }) } });
  });
  after(async () => {
    await pipeline.close();
    await t.close();
  });

  it('removes every row and object of the event and nothing of another event', async () => {
    const owner = await t.photographer();
    const doomed = await seedEvent(t, owner.headers, 3);
    const kept = await seedEvent(t, owner.headers, 2);
    assert.deepEqual(await counts(t, doomed), { event: 1, photos: 3, embeddings: 6, objects: 6 });

    const res = await t.app.inject({ method: 'DELETE', url: `/api/v1/events/${doomed}`, headers: owner.headers });
    assert.equal(res.statusCode, 202);
    const result = await pipeline.waitForJob('maintenance', res.json<{ task_id: string }>().task_id);
    assert.deepEqual(result, { photos: 3, embeddings: 6, objects: 6 });

    assert.deepEqual(await counts(t, doomed), { event: 0, photos: 0, embeddings: 0, objects: 0 });
    assert.deepEqual(await counts(t, kept), { event: 1, photos: 2, embeddings: 4, objects: 4 });
  });

  it('finishes an interrupted cascade when rerun, and a rerun after completion is harmless', async () => {
    const owner = await t.photographer();
    const eventId = await seedEvent(t, owner.headers, 4);
    assert.ok(await t.deps.repositories.events.markDeleted(owner.id, eventId));
    // Simulate a crash mid-way: one photo's embeddings and objects are gone but its row remains,
    // and an orphan object without a row exists.
    const [first] = await t.deps.repositories.photos.listKeysBatch(eventId, 1);
    assert.ok(first);
    await t.deps.repositories.embeddings.deleteByPhotos(eventId, [first.id]);
    for (const key of first.keys) await t.deps.storage.delete(key);
    await t.deps.storage.put(`events/${eventId}/orphan.jpg`, Buffer.from('orphan'), 'image/jpeg');

    await t.deps.services.eventCleanup.purgeEvent(eventId);
    assert.deepEqual(await counts(t, eventId), { event: 0, photos: 0, embeddings: 0, objects: 0 });
    const again = await t.deps.services.eventCleanup.purgeEvent(eventId);
    assert.deepEqual(again, { photos: 0, embeddings: 0, objects: 0 });
  });

  it('does not let another photographer delete the event', async () => {
    const owner = await t.photographer();
    const intruder = await t.photographer();
    const eventId = await seedEvent(t, owner.headers, 1);
    const res = await t.app.inject({ method: 'DELETE', url: `/api/v1/events/${eventId}`, headers: intruder.headers });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(await counts(t, eventId), { event: 1, photos: 1, embeddings: 2, objects: 2 });
  });

  describe('and event vector indexes', () => {
    const job = { modelPack: 'test', dimensions: 512 };
    const run = (eventId: number) =>
      createIndexEventVectorsHandler({ indexes: t.deps.repositories.vectorIndexes, events: t.deps.repositories.events })({
        id: `index-${eventId}`, name: 'index-event-vectors', data: { eventId, ...job }, attempt: 1, logger: createLogger('silent'),
      });
    const indexesOf = async (eventId: number) => ({
      registered: (await t.deps.dbs.vector.selectFrom('event_vector_indexes').select('index_name').where('event_id', '=', eventId).execute()).length,
      built: (await sql<{ n: number }>`select count(*)::int as n from pg_indexes where tablename = 'face_embeddings' and indexdef like ${`%event_id = ${eventId})%`}`.execute(t.deps.dbs.vector)).rows[0]!.n,
    });

    it('builds no index for an event already deleted', async () => {
      const owner = await t.photographer();
      const eventId = await seedEvent(t, owner.headers, 2);
      assert.ok(await t.deps.repositories.events.markDeleted(owner.id, eventId));
      assert.deepEqual(await run(eventId), { status: 'skipped', reason: 'event deleted' });
      assert.deepEqual(await indexesOf(eventId), { registered: 0, built: 0 });
    });

    it('drops the index of an event deleted while it was being built', async () => {
      const owner = await t.photographer();
      const eventId = await seedEvent(t, owner.headers, 2);
      const other = await seedEvent(t, owner.headers, 1);
      // An open writer on the event's partition (where the index is built) holds CREATE INDEX
      // CONCURRENTLY at its first wait, after the handler has seen the event alive; the deletion
      // cascade then runs to the end meanwhile.
      const partition = (await createVectorIndexRepository(t.deps.dbs.vector).partitionOf(eventId))!;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let writing!: () => void;
      const written = new Promise<void>((resolve) => (writing = resolve));
      const writer = t.deps.dbs.vector.transaction().execute(async (trx) => {
        await trx.updateTable('face_embeddings').set({ detection_score: 0.8 }).where('event_id', '=', other).execute();
        await sql`lock table ${sql.id(partition)} in row exclusive mode`.execute(trx);
        writing();
        await gate;
      });
      await written;
      const building = run(eventId);
      for (const deadline = Date.now() + 60_000; ; ) {
        assert.ok(Date.now() < deadline, 'the index build never reached its wait');
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where query ilike 'create index concurrently%' and wait_event_type = 'Lock'`.execute(t.deps.dbs.vector);
        if (rows[0]!.n > 0) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const res = await t.app.inject({ method: 'DELETE', url: `/api/v1/events/${eventId}`, headers: owner.headers });
      await pipeline.waitForJob('maintenance', res.json<{ task_id: string }>().task_id);
      assert.equal(await t.deps.repositories.events.exists(eventId), false);
      release();
      await writer;
      assert.deepEqual(await building, { status: 'skipped', reason: 'event deleted during the build' });
      assert.deepEqual(await indexesOf(eventId), { registered: 0, built: 0 });
    });
  });
});
