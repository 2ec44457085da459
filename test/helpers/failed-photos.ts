import assert from 'node:assert/strict';
import type { TestApp } from './app.js';
import { groupPhoto, johns } from './dev-event.js';

/** Test-app settings under which the first sweep that finds a photo without a job marks it failed. */
export const FAIL_ON_FIRST_SWEEP = { SWEEP_MAX_REQUEUES: '0', SWEEP_LEASE_SECONDS: '600' };

/**
 * Uploads `count` real group photos (one johns face each) and fails them the way production can:
 * the queue loses their jobs (Redis flushed, say) while no worker runs, and the ingest sweep gives up
 * on them. Needs an app made with FAIL_ON_FIRST_SWEEP and a pipeline without workers. Returns the ids.
 */
export async function failedUploads(t: TestApp, api: string, owner: { headers: { authorization: string } }, eventId: number, count: number): Promise<number[]> {
  const people = await johns();
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const form = new FormData();
    form.append('event_id', String(eventId));
    form.append('file', new Blob([await groupPhoto([people[i]!.files[i]!], i)]), `r${i}.jpg`);
    const res = await fetch(`${api}/faces/upload`, { method: 'POST', headers: owner.headers, body: form });
    assert.equal(res.status, 201);
    const up = (await res.json()) as { face_id: number; task_id: string };
    assert.equal(await t.deps.jobs.queue('photos').remove(up.task_id), 1);
    ids.push(up.face_id);
  }
  const report = await t.deps.services.ingestSweep.sweep(new Date(Date.now() + 601_000));
  assert.equal(report.failed, count);
  return ids;
}
