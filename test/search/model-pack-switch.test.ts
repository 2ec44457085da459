import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { groupPhoto, johns, selfie } from '../helpers/dev-event.js';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.js';
import { testModelDir } from '../vision/fixtures.js';
import { createJobHandlers } from '../../src/workers/index.js';
import { createFaceEngine, type FaceEngine } from '../../src/vision/index.js';
import { MATCH_POLICIES } from '../../src/services/match-decision.js';
import { CALIBRATIONS } from '../../src/vision/similarity-calibration.js';

const OLD = 'faceapi-resnet128';
// The worker "restarts" with FACE_MODEL_PACK = NEW. Only one real pack ships, so the new pack is
// the same real models under another id: every row it writes is told apart by that id alone,
// which is all the switch relies on (searches read their own pack's rows, nothing else).
const NEW = 'faceapi-resnet128-next';
// Its operating point is the real pack's (each pack has its own fitted numbers).
MATCH_POLICIES[NEW] = MATCH_POLICIES[OLD]!;
CALIBRATIONS[NEW] = CALIBRATIONS[OLD]!;

describe('switching FACE_MODEL_PACK re-embeds done photos in the background', () => {
  let t: TestApp;
  let pipeline: TestPipeline;
  let real: FaceEngine;
  let pack = OLD;
  let owner: { id: number; headers: { authorization: string } };
  let eventId = 0;
  let selfieX: Buffer;
  const withX = new Set<number>();
  const all: number[] = [];

  const upload = async (event: number, image: Buffer, name: string): Promise<{ face_id: number; task_id: string }> => {
    const form = new FormData();
    form.append('event_id', String(event));
    form.append('file', new Blob([image]), name);
    const res = await fetch(`${pipeline.api}/faces/upload`, { method: 'POST', headers: owner.headers, body: form });
    assert.equal(res.status, 201);
    return (await res.json()) as { face_id: number; task_id: string };
  };
  const found = async (): Promise<Set<number>> => {
    const form = new FormData();
    form.append('event_id', String(eventId));
    form.append('file', new Blob([selfieX]), 'selfie.jpg');
    const res = await fetch(`${pipeline.api}/faces/search`, { method: 'POST', headers: owner.headers, body: form });
    assert.equal(res.status, 200);
    return new Set(((await res.json()) as { results: { face_id: number }[] }).results.map((r) => r.face_id));
  };
  const event = async (name: string): Promise<number> =>
    (await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: owner.headers, payload: { name } })).json<{ id: number }>().id;

  before(async () => {
    t = await createTestApp({ env: { FACE_MODEL_PACK: NEW, SEARCH_RATE_LIMIT_PER_MINUTE: '1000' } });
    real = await createFaceEngine({ modelDir: testModelDir() });
    const engine: FaceEngine = {
      get packId() {
        return pack;
      },
      dimensions: real.dimensions,
      threshold: real.threshold,
      analyze: (image, opts) => real.analyze(image, opts),
      similarity: (a, b) => real.similarity(a, b),
      close: async () => undefined,
    };
    pipeline = await startPipeline(t, { handlers: createJobHandlers(t.deps, { engine }) });
    owner = await t.photographer();
    const [x, ...others] = await johns();
    assert.ok(x && others.length >= 2);
    selfieX = await selfie(x.files[10]!);
    eventId = await event('Switched');
    const plan = [
      { faces: [x.files[0]!, others[0]!.files[0]!], hasX: true },
      { faces: [others[1]!.files[0]!], hasX: false },
      { faces: [x.files[1]!], hasX: true },
      { faces: [others[0]!.files[1]!, others[1]!.files[1]!], hasX: false },
    ];
    const tasks: string[] = [];
    for (const [i, p] of plan.entries()) {
      const up = await upload(eventId, await groupPhoto(p.faces, i), `photo-${i}.jpg`);
      all.push(up.face_id);
      if (p.hasX) withX.add(up.face_id);
      tasks.push(up.task_id);
    }
    // A deleted event's photos are never re-embedded.
    const doomed = await event('Deleted');
    tasks.push((await upload(doomed, await groupPhoto([x.files[2]!], 9), 'doomed.jpg')).task_id);
    for (const id of tasks) await pipeline.waitForJob('photos', id);
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/events/${doomed}`, headers: owner.headers })).statusCode, 202);
  });

  after(async () => {
    await pipeline?.close();
    await real?.close();
    await t?.close();
  });

  it('re-embeds every done photo with the new pack; searches read only their own pack meanwhile', async () => {
    const embeddings = t.deps.repositories.embeddings;
    const facesBefore = await embeddings.countByEvent(eventId, OLD);
    assert.ok(facesBefore >= 6, 'the event is embedded with the old pack');
    assert.deepEqual(await found(), withX, 'the old pack finds X');
    for (const id of all) assert.equal((await t.deps.repositories.photos.findById(id))?.model_pack, OLD);

    pack = NEW; // the worker comes back with FACE_MODEL_PACK = NEW
    assert.deepEqual(await found(), new Set(), 'nothing is embedded with the new pack yet: no cross-pack comparison');

    const report = await t.deps.services.ingestSweep.sweep();
    assert.equal(report.reembedQueued, all.length, "the live event's done photos are queued, the deleted event's are not");
    for (const id of all) assert.deepEqual(await pipeline.waitForJob('maintenance', `reembed-photo-${id}-${NEW}`), { faces: (await t.deps.repositories.photos.findById(id))!.face_count });

    assert.equal(await embeddings.countByEvent(eventId, OLD), 0, 'no row of the old pack is left');
    assert.equal(await embeddings.countByEvent(eventId, NEW), facesBefore, 'the same faces, embedded anew');
    for (const id of all) {
      const photo = await t.deps.repositories.photos.findById(id);
      assert.equal(photo?.model_pack, NEW);
      assert.equal(photo?.status, 'done', 'the photo never left done');
    }
    assert.deepEqual(await found(), withX, 'the new pack finds the same photos');
    assert.equal((await t.deps.services.ingestSweep.sweep()).reembedQueued, 0, 'nothing is left to re-embed');
  });
});
