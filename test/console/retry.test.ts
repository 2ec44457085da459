import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startPipeline, startRealWorkers, type TestPipeline } from '../helpers/pipeline.js';
import { FAIL_ON_FIRST_SWEEP, failedUploads } from '../helpers/failed-photos.js';
import { jobIdOf } from '../../src/queue/jobs.js';

interface PhotoAnswer { id: number; status: string; error: string | null; face_count: number }

/**
 * Retrying failed photos: a photo failed by a cause that went away (its job lost while no worker ran,
 * so the ingest sweep gave up on it) is processed to `done` after the photographer's retry; only
 * failed photos are retried, and only by the event's owner.
 */
describe('retrying failed photos', () => {
  let t: TestApp;
  let pipeline: TestPipeline;
  let workers: { close(): Promise<void> } | undefined;
  let alice: { id: number; headers: { authorization: string } };
  let bob: { id: number; headers: { authorization: string } };
  let eventId: number;
  let failed: number[] = [];

  before(async () => {
    t = await createTestApp({ env: FAIL_ON_FIRST_SWEEP });
    pipeline = await startPipeline(t); // no worker yet: uploads stay queued
    alice = await t.photographer();
    bob = await t.photographer();
    eventId = (await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: alice.headers, payload: { name: 'Retry' } })).json<{ id: number }>().id;
    failed = await failedUploads(t, pipeline.api, alice, eventId, 3);
  });
  after(async () => {
    await workers?.close();
    await pipeline.close();
    await t.close();
  });

  const photo = async (id: number) => (await t.deps.repositories.photos.findById(id))!;
  const retry = (id: number, headers: Record<string, string> = alice.headers) => t.app.inject({ method: 'POST', url: `/api/v1/faces/${id}/retry`, headers });

  it('needs a photographer and hides other photographers\u2019 photos and events (404)', async () => {
    assert.equal((await t.app.inject({ method: 'POST', url: `/api/v1/faces/${failed[0]}/retry` })).statusCode, 401);
    const foreign = await retry(failed[0]!, bob.headers);
    assert.equal(foreign.statusCode, 404);
    assert.equal(foreign.json<{ error: string }>().error, 'not_found');
    assert.equal((await retry(2_000_000_000)).statusCode, 404);
    const all = await t.app.inject({ method: 'POST', url: `/api/v1/events/${eventId}/photos/retry-failed`, headers: bob.headers });
    assert.equal(all.statusCode, 404);
    // Nothing changed for Bob's attempts.
    for (const id of failed) assert.equal((await photo(id)).status, 'failed');
  });

  it('processes a failed photo again: pending at once, then done with its faces', async () => {
    // The worker is back.
    await pipeline.events('photos'); // read the queue's events before the job can finish
    workers = await startRealWorkers(t);
    assert.match((await photo(failed[0]!)).error ?? '', /job was lost/);
    const res = await retry(failed[0]!);
    assert.equal(res.statusCode, 202);
    const body = res.json<PhotoAnswer>();
    assert.equal(body.id, failed[0]);
    assert.equal(body.status, 'pending');
    assert.equal(body.error, null);
    const taskId = String(res.headers['x-task-id']);
    await pipeline.waitForJob('photos', taskId);
    const done = await photo(failed[0]!);
    assert.equal(done.status, 'done');
    assert.equal(done.error, null);
    assert.ok(done.face_count >= 1, 'the photo has a face');
  });

  it('refuses to retry a photo that is not failed (409) and changes nothing', async () => {
    const res = await retry(failed[0]!);
    assert.equal(res.statusCode, 409);
    assert.equal(res.json<{ error: string }>().error, 'photo_not_failed');
    assert.equal((await photo(failed[0]!)).status, 'done');
  });

  it('retries every failed photo of an event at once', async () => {
    const res = await t.app.inject({ method: 'POST', url: `/api/v1/events/${eventId}/photos/retry-failed`, headers: alice.headers });
    assert.equal(res.statusCode, 202);
    assert.deepEqual(res.json(), { requeued: 2 });
    for (const id of failed.slice(1)) {
      const p = await photo(id);
      assert.ok(p.status === 'pending' || p.status === 'processing' || p.status === 'done', `${id}: ${p.status}`);
    }
    for (const id of failed.slice(1)) {
      const p = await photo(id);
      // The same stable job id the upload and the sweep use.
      await pipeline.waitForJob('photos', jobIdOf('process-photo', { faceId: id, s3Key: p.s3_key, eventId })!);
      assert.equal((await photo(id)).status, 'done');
    }
    // Nothing is failed any more: a second call queues nothing.
    const again = await t.app.inject({ method: 'POST', url: `/api/v1/events/${eventId}/photos/retry-failed`, headers: alice.headers });
    assert.deepEqual(again.json(), { requeued: 0 });
  });
});
