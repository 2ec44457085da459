import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.js';
import { groupPhoto, johns } from '../helpers/dev-event.js';

const unit = `[${Array.from({ length: 512 }, (_, i) => (i === 5 ? 1 : 0)).join(',')}]`;

describe('ingest sweep: stuck photos and orphaned data', () => {
  let t: TestApp;
  let pipeline: TestPipeline;
  let owner: { id: number; headers: { authorization: string } };

  before(async () => {
    t = await createTestApp({ env: { SWEEP_MAX_REQUEUES: '2', SWEEP_LEASE_SECONDS: '600' } });
    // The API only, no worker: queued jobs stay queued, so the test sees exactly what the sweep does.
    pipeline = await startPipeline(t);
    owner = await t.photographer();
  });
  after(async () => {
    await pipeline.close();
    await t.close();
  });

  /** A sweep run as if the lease had passed for everything written so far. */
  const sweepLater = () => t.deps.services.ingestSweep.sweep(new Date(Date.now() + 601_000));
  const queue = () => t.deps.jobs.queue('photos');
  const newEvent = async (): Promise<number> =>
    (await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: owner.headers, payload: { name: 'Sweep' } })).json<{ id: number }>().id;
  const upload = async (eventId: number, seed: number): Promise<{ face_id: number; task_id: string }> => {
    const people = await johns();
    const form = new FormData();
    form.append('event_id', String(eventId));
    form.append('file', new Blob([await groupPhoto([people[seed % 5]!.files[seed % 11]!], seed)]), `s${seed}.jpg`);
    const res = await fetch(`${pipeline.api}/faces/upload`, { method: 'POST', headers: owner.headers, body: form });
    assert.equal(res.status, 201);
    return (await res.json()) as { face_id: number; task_id: string };
  };
  const photoOf = async (id: number) => t.deps.repositories.photos.findById(id);

  it('leaves a fresh photo and a photo whose job waits alone', async () => {
    const eventId = await newEvent();
    const up = await upload(eventId, 1);
    // Within the lease: not even looked at.
    const now = await t.deps.services.ingestSweep.sweep();
    assert.deepEqual([now.requeued, now.failed], [0, 0]);
    const later = await sweepLater();
    assert.ok(later.queued >= 1, 'its job is waiting: counted, not touched');
    assert.equal(later.requeued, 0);
    assert.equal((await photoOf(up.face_id))?.requeues, 0);
    await queue().remove(up.task_id);
    await t.deps.repositories.photos.markFailed(up.face_id, 'test done with it');
  });

  it('live photos: a lost job comes back at the head of the queue; a lost small-face pass is queued again', async () => {
    const eventId = await newEvent();
    const people = await johns();
    const form = new FormData();
    form.append('event_id', String(eventId));
    form.append('live', 'true');
    form.append('file', new Blob([await groupPhoto([people[0]!.files[7]!], 77)]), 'live.jpg');
    const up = (await (await fetch(`${pipeline.api}/faces/upload`, { method: 'POST', headers: owner.headers, body: form })).json()) as { face_id: number; task_id: string };
    assert.equal((await queue().getJob(up.task_id))?.opts.lifo, true, 'queued at the head');
    assert.equal(await queue().remove(up.task_id), 1, 'the queue loses the job');
    assert.equal((await sweepLater()).requeued, 1);
    assert.equal((await queue().getJob(up.task_id))?.opts.lifo, true, 'still at the head after the sweep');
    await queue().remove(up.task_id);

    // Done after its coarse pass, its refine job lost: queued again once, not again while it waits.
    await t.deps.dbs.main.updateTable('faces').set({ status: 'done', refine_pending: true }).where('id', '=', up.face_id).execute();
    assert.equal((await sweepLater()).refinesRequeued, 1);
    assert.equal(await queue().getJobState(`refine-photo-${up.face_id}`), 'waiting');
    assert.equal((await sweepLater()).refinesRequeued, 0, 'its job waits: left alone');
    await queue().remove(`refine-photo-${up.face_id}`);
    await t.deps.repositories.photos.dropRefine(up.face_id);
    assert.equal((await sweepLater()).refinesRequeued, 0, 'nothing pending any more');
  });

  it('re-queues a photo whose job is lost, a bounded number of times, then marks it failed', async () => {
    const eventId = await newEvent();
    const up = await upload(eventId, 2);
    for (let round = 1; round <= 2; round++) {
      assert.equal(await queue().remove(up.task_id), 1, 'the queue loses the job');
      const report = await sweepLater();
      assert.equal(report.requeued, 1, `round ${round}`);
      assert.equal(await queue().getJobState(up.task_id), 'prioritized');
      assert.equal((await photoOf(up.face_id))?.requeues, round);
      assert.equal((await photoOf(up.face_id))?.status, 'pending');
    }
    assert.equal(await queue().remove(up.task_id), 1);
    const last = await sweepLater();
    assert.equal(last.failed, 1);
    const failed = await photoOf(up.face_id);
    assert.equal(failed?.status, 'failed');
    assert.match(failed?.error ?? '', /never finished: its job was lost 3 times/);
    // Failed is final: later sweeps leave it.
    assert.deepEqual([(await sweepLater()).failed, (await sweepLater()).requeued], [0, 0]);
  });

  it('several sweeps at once re-queue each stuck photo once', async () => {
    const eventId = await newEvent();
    const ups = [await upload(eventId, 3), await upload(eventId, 4), await upload(eventId, 5)];
    for (const up of ups) await queue().remove(up.task_id);
    // The lease passes for these photos, and the sweeps run at the real time: a photo one sweep has
    // just claimed (its updated_at moved to now) is out of the others' reading, as in production.
    // (sweepLater's clock, a lease ahead, would let a sweep read a photo another has just claimed
    // and queue it again before the first one's job exists.)
    await t.deps.dbs.main.updateTable('faces').set({ updated_at: new Date(Date.now() - 601_000) }).where('id', 'in', ups.map((u) => u.face_id)).execute();
    const reports = await Promise.all([0, 1, 2].map(() => t.deps.services.ingestSweep.sweep()));
    assert.equal(reports.reduce((n, r) => n + r.requeued, 0), 3);
    for (const up of ups) {
      assert.equal((await photoOf(up.face_id))?.requeues, 1);
      assert.equal(await queue().getJobState(up.task_id), 'prioritized');
      await queue().remove(up.task_id);
      await t.deps.repositories.photos.markFailed(up.face_id, 'test done with it');
    }
  });

  it('finds a stuck photo behind a long backlog of photos whose jobs wait', async () => {
    const eventId = await newEvent();
    const rows = await t.deps.dbs.main
      .insertInto('faces')
      .values(Array.from({ length: 501 }, (_, i) => ({ event_id: eventId, image_url: `events/${eventId}/b${i}.jpg`, s3_key: `events/${eventId}/b${i}.jpg` })))
      .returning('id')
      .execute();
    const ids = rows.map((r) => r.id).sort((a, b) => a - b);
    const stuck = ids[ids.length - 1]!;
    // Every photo but the last has its job waiting: more than one page of the sweep's reads.
    await queue().addBulk(
      ids.slice(0, -1).map((id) => ({ name: 'process-photo', data: { faceId: id, s3Key: `events/${eventId}/x.jpg`, eventId }, opts: { jobId: `process-photo-${id}` } })),
    );
    const report = await sweepLater();
    assert.equal(report.requeued, 1);
    assert.ok(report.queued >= 500);
    assert.equal((await photoOf(stuck))?.requeues, 1);
    assert.equal(await queue().getJobState(`process-photo-${stuck}`), 'prioritized');
    await queue().drain();
    await t.deps.dbs.main.updateTable('faces').set({ status: 'failed' }).where('event_id', '=', eventId).execute();
  });

  it('purges photos, embeddings and objects whose event row is gone, and nothing of a live event', async () => {
    const kept = await newEvent();
    const keptPhoto = await upload(kept, 6);
    await queue().remove(keptPhoto.task_id);
    // What the deletion race used to leave: an event purged, one photo of it surviving everywhere.
    const gone = await newEvent();
    const orphan = await upload(gone, 7);
    await queue().remove(orphan.task_id);
    await t.deps.dbs.vector
      .insertInto('face_embeddings')
      .values({ face_id: orphan.face_id, event_id: gone, embedding: unit, bbox_x: 0, bbox_y: 0, bbox_width: 9, bbox_height: 9, detection_score: 0.9, model_pack: 'test' })
      .execute();
    await t.deps.dbs.main.deleteFrom('events').where('id', '=', gone).execute();
    // And an event gone with only an embedding and an object left (no photo row at all).
    const bare = await newEvent();
    await t.deps.dbs.main.deleteFrom('events').where('id', '=', bare).execute();
    await t.deps.storage.put(`events/${bare}/previews/x.jpg`, Buffer.from('x'), 'image/jpeg');
    await t.deps.dbs.vector
      .insertInto('face_embeddings')
      .values({ face_id: 999_999, event_id: bare, embedding: unit, bbox_x: 0, bbox_y: 0, bbox_width: 9, bbox_height: 9, detection_score: 0.9, model_pack: 'test' })
      .execute();

    // Within the lease too: data of an event that does not exist is never anyone's work in progress.
    const report = await t.deps.services.ingestSweep.sweep();
    assert.deepEqual(report.purgedEvents, [gone, bare]);
    for (const eventId of [gone, bare]) {
      assert.equal(await t.deps.repositories.photos.countByEvent(eventId), 0);
      assert.equal(await t.deps.repositories.embeddings.countByEvent(eventId), 0);
      assert.deepEqual(await t.deps.storage.list(`events/${eventId}/`), []);
    }
    assert.equal(await t.deps.repositories.photos.countByEvent(kept), 1);
    assert.equal((await t.deps.storage.list(`events/${kept}/`)).length, 1);
    assert.deepEqual((await t.deps.services.ingestSweep.sweep()).purgedEvents, [], 'a second run finds nothing');
    await t.deps.repositories.photos.markFailed(keptPhoto.face_id, 'test done with it');
  });

  it('finishes the deletion of an event whose cascade job was lost, once the lease has passed', async () => {
    const eventId = await newEvent();
    await upload(eventId, 8);
    await queue().drain();
    // Marked deleted, its delete-event job never queued (as when Redis failed right after).
    assert.ok(await t.deps.repositories.events.markDeleted(owner.id, eventId));
    assert.ok(!(await t.deps.services.ingestSweep.sweep()).purgedEvents.includes(eventId), 'not within the lease: its cascade may be running');
    assert.ok((await sweepLater()).purgedEvents.includes(eventId));
    assert.equal(await t.deps.repositories.events.exists(eventId), false);
    assert.equal(await t.deps.repositories.photos.countByEvent(eventId), 0);
    assert.deepEqual(await t.deps.storage.list(`events/${eventId}/`), []);
  });
});
