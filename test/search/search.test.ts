import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { groupPhoto, johns, selfie } from '../helpers/dev-event.js';
import { startPipeline, type TestPipeline } from '../helpers/pipeline.js';
import { photoRef } from '../../src/api/routes/search.routes.js';

type Json = Record<string, unknown>;
type Result = { photo_ref: string; face_id: number; event_id: number; similarity: number; image_url: string };

// Twice: small events are scanned exactly; large ones get their own HNSW index (here: from the first face).
for (const mode of ['exact scan', 'event HNSW index'] as const) describe(`selfie search: right photos, only that event (${mode})`, () => {
  let t: TestApp;
  let pipeline: TestPipeline;
  let base: string;
  let owner: { id: number; headers: { authorization: string } };
  let stranger: { id: number; headers: { authorization: string } };
  const A = { id: 0, uuid: '', withX: new Set<number>(), all: new Set<number>() };
  const B = { id: 0, uuid: '', withX: new Set<number>(), all: new Set<number>() };
  let selfieX: Buffer;

  const upload = async (eventId: number, image: Buffer, name: string): Promise<{ face_id: number; task_id: string }> => {
    const form = new FormData();
    form.append('event_id', String(eventId));
    form.append('file', new Blob([image]), name);
    const res = await fetch(`${base}/faces/upload`, { method: 'POST', headers: owner.headers, body: form });
    assert.equal(res.status, 201);
    return (await res.json()) as { face_id: number; task_id: string };
  };

  const search = async (fields: Record<string, string>, image: Buffer | Buffer[] | null, headers: Record<string, string> = {}) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    for (const [i, img] of (image === null ? [] : Array.isArray(image) ? image : [image]).entries()) form.append('file', new Blob([img]), `selfie-${i}.jpg`);
    const res = await fetch(`${base}/faces/search`, { method: 'POST', headers, body: form });
    return { status: res.status, body: (await res.json()) as Json };
  };

  before(async () => {
    // Many public searches below: lift the per-client limit (its own test is below).
    t = await createTestApp({ env: { SEARCH_RATE_LIMIT_PER_MINUTE: '1000', ...(mode === 'exact scan' ? {} : { VECTOR_INDEX_MIN_FACES: '1' }) } });
    pipeline = await startPipeline(t, { workers: true });
    base = pipeline.api;
    owner = await t.photographer();
    stranger = await t.photographer();

    // Person X appears in some photos of both events; the others fill the rest.
    const people = await johns();
    const [x, ...others] = people;
    assert.ok(x && others.length >= 3);
    selfieX = await selfie(x.files[10]!);
    const plan: { event: typeof A; faces: string[]; hasX: boolean }[] = [
      { event: A, faces: [x.files[0]!, others[0]!.files[0]!], hasX: true },
      { event: A, faces: [others[1]!.files[0]!, others[2]!.files[0]!], hasX: false },
      { event: A, faces: [others[0]!.files[1]!, x.files[1]!, others[2]!.files[1]!], hasX: true },
      { event: A, faces: [others[3]!.files[0]!], hasX: false },
      { event: A, faces: [x.files[2]!], hasX: true },
      { event: B, faces: [x.files[3]!, others[1]!.files[2]!], hasX: true },
      { event: B, faces: [others[0]!.files[3]!, others[3]!.files[3]!], hasX: false },
      { event: B, faces: [x.files[4]!], hasX: true },
    ];
    for (const [event, name] of [[A, 'A'], [B, 'B']] as const) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: owner.headers, payload: { name: `Event ${name}` } });
      event.id = res.json<{ id: number }>().id;
      event.uuid = res.json<{ event_uuid: string }>().event_uuid;
    }
    const tasks: string[] = [];
    for (const [i, p] of plan.entries()) {
      const up = await upload(p.event.id, await groupPhoto(p.faces, i), `photo-${i}.jpg`);
      p.event.all.add(up.face_id);
      if (p.hasX) p.event.withX.add(up.face_id);
      tasks.push(up.task_id);
    }
    for (const id of tasks) await pipeline.waitForJob('photos', id);
    const pack = pipeline.engine!.packId;
    for (const event of [A, B]) {
      const index = await t.deps.repositories.vectorIndexes.find(event.id, pack);
      if (mode === 'exact scan') {
        assert.equal(index, undefined, 'small events have no index');
        continue;
      }
      // Queued by the first processed photo; later photos' faces went into the built index.
      await pipeline.waitForJob('maintenance', `index-event-vectors-${event.id}-${pack}`);
      assert.ok(await t.deps.repositories.vectorIndexes.find(event.id, pack), `event ${event.id} has its index`);
    }
  });

  after(async () => {
    await pipeline.close();
    await t.close();
  });

  it('finds exactly the photos of the person in the event, best first, in the seed’s shape', async () => {
    const res = await search({ event_id: String(A.id) }, selfieX, owner.headers);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const results = res.body.results as Result[];
    assert.deepEqual(new Set(results.map((r) => r.face_id)), A.withX);
    for (const r of results) {
      assert.equal(r.event_id, A.id);
      assert.ok(r.similarity >= 0.7 && r.similarity <= 1);
      assert.match(r.image_url, /^http/);
    }
    const sims = results.map((r) => r.similarity);
    assert.deepEqual(sims, [...sims].sort((a, b) => b - a), 'best first');
    assert.equal(typeof res.body.query_time_ms, 'number');
    assert.equal(typeof res.body.task_id, 'string');
  });

  /** The opaque references public results carry for photos of an event. */
  const refsOf = (event: typeof A, ids: Set<number>): Set<string> => new Set([...ids].map((id) => photoRef(t.deps.signer, event.uuid, id)));

  it('participants search by event_uuid without a key and get the same photos, by opaque reference only', async () => {
    const res = await search({ event_uuid: B.uuid }, selfieX);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const results = res.body.results as Result[];
    assert.deepEqual(new Set(results.map((r) => r.photo_ref)), refsOf(B, B.withX));
    for (const r of results) {
      assert.deepEqual(Object.keys(r).sort(), ['image_url', 'photo_ref', 'preview_url', 'similarity'], 'no internal ids in public results');
      assert.match(r.photo_ref, /^p_[A-Za-z0-9_-]{22}$/);
    }
    const owners = await search({ event_id: String(B.id) }, selfieX, owner.headers);
    assert.deepEqual(new Set((owners.body.results as Result[]).map((r) => r.photo_ref)), refsOf(B, B.withX), 'the same references for the photographer');
  });

  it('holds callers without a key to the operating point and a modest limit, whatever they ask', async () => {
    const strict = await search({ event_uuid: B.uuid }, selfieX);
    for (const [threshold, limit] of [['0.3', '100'], ['0.5', '50'], ['0.31', '99']] as const) {
      const res = await search({ event_uuid: B.uuid, threshold, limit }, selfieX);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.applied, { threshold: 0.7, limit: 50 });
      assert.deepEqual(new Set((res.body.results as Result[]).map((r) => r.photo_ref)), new Set((strict.body.results as Result[]).map((r) => r.photo_ref)));
      for (const r of res.body.results as Result[]) assert.ok(r.similarity >= 0.7);
    }
    // A photographer keeps the full range on their own event.
    const own = await search({ event_id: String(A.id), threshold: '0.3', limit: '100' }, selfieX, owner.headers);
    assert.deepEqual(own.body.applied, { threshold: 0.3, limit: 100 });
  });

  it('fuses up to three selfies of one person, and refuses selfies of different people', async () => {
    const people = await johns();
    const second = await selfie(people[0]!.files[9]!);
    const fused = await search({ event_id: String(A.id) }, [selfieX, second], owner.headers);
    assert.equal(fused.status, 200, JSON.stringify(fused.body));
    assert.deepEqual(new Set((fused.body.results as Result[]).map((r) => r.face_id)), A.withX);
    assert.equal((fused.body.selfie as { count: number }).count, 2);
    const other = await selfie(people[1]!.files[9]!);
    const mixed = await search({ event_id: String(A.id) }, [selfieX, other], owner.headers);
    assert.equal(mixed.status, 422);
    assert.equal(mixed.body.error, 'selfies_disagree');
    const four = await search({ event_id: String(A.id) }, [selfieX, second, selfieX, second], owner.headers);
    assert.equal(four.status, 400, 'more than three selfies is a client error');
  });

  it('never returns another event’s photo, at any threshold or limit, even concurrently', async () => {
    const runs = [];
    for (const threshold of ['0.3', '0.5', '0.7', '0.95']) {
      for (const limit of ['1', '100']) {
        runs.push(search({ event_id: String(A.id), threshold, limit }, selfieX, owner.headers).then((r) => ({ r, event: A })));
        runs.push(search({ event_uuid: B.uuid, threshold, limit }, selfieX, owner.headers).then((r) => ({ r, event: B })));
      }
    }
    for (const { r, event } of await Promise.all(runs)) {
      // With a key, event_uuid is ignored in favour of event_id; the B runs above therefore must fail cleanly.
      if (event === B) {
        assert.equal(r.status, 400);
        continue;
      }
      assert.equal(r.status, 200, JSON.stringify(r.body));
      for (const m of r.body.results as Result[]) {
        assert.ok(event.all.has(m.face_id), `photo ${m.face_id} is from event ${event.id}`);
        assert.equal(m.event_id, event.id);
      }
    }
    const publicRuns = await Promise.all(
      ['0.3', '0.5', '0.9'].map((threshold) => search({ event_uuid: B.uuid, threshold, limit: '100' }, selfieX)),
    );
    const refsB = refsOf(B, B.all);
    for (const r of publicRuns) {
      assert.equal(r.status, 200);
      for (const m of r.body.results as Result[]) assert.ok(refsB.has(m.photo_ref));
    }
    const one = await search({ event_id: String(A.id), limit: '1' }, selfieX, owner.headers);
    assert.equal((one.body.results as Result[]).length, 1);
  });

  it('hides unknown, foreign and inactive events behind 404', async () => {
    assert.equal((await search({ event_id: String(A.id) }, selfieX, stranger.headers)).status, 404);
    assert.equal((await search({ event_id: '999999' }, selfieX, owner.headers)).status, 404);
    assert.equal((await search({ event_uuid: '00000000-0000-4000-8000-000000000000' }, selfieX)).status, 404);
    const closed = await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: owner.headers, payload: { name: 'Closed' } });
    const { id, event_uuid } = closed.json<{ id: number; event_uuid: string }>();
    await t.app.inject({ method: 'PATCH', url: `/api/v1/events/${id}`, headers: owner.headers, payload: { is_active: false } });
    assert.equal((await search({ event_uuid }, selfieX)).status, 404);
    assert.equal((await search({ event_id: String(A.id) }, selfieX)).status, 400, 'event_id needs a key');
  });

  it('validates its input', async () => {
    const cases: [Record<string, string>, Buffer | null][] = [
      [{ event_id: String(A.id), threshold: '1.5' }, selfieX],
      [{ event_id: String(A.id), threshold: 'abc' }, selfieX],
      [{ event_id: String(A.id), limit: '0' }, selfieX],
      [{ event_id: String(A.id), limit: '1000' }, selfieX],
      [{ event_id: String(A.id) }, null],
      [{ event_uuid: 'nope' }, selfieX],
    ];
    for (const [fields, image] of cases) {
      const res = await search(fields, image, fields.event_id ? owner.headers : {});
      assert.equal(res.status, 400, `${JSON.stringify(fields)} → ${JSON.stringify(res.body)}`);
    }
  });

  it('guides when the selfie has no face or several faces, and face_index picks one', async () => {
    const blank = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#7a8a9a' } }).jpeg().toBuffer();
    const none = await search({ event_id: String(A.id) }, blank, owner.headers);
    assert.equal(none.status, 422);
    assert.equal(none.body.error, 'no_face');
    const garbage = await search({ event_id: String(A.id) }, Buffer.from('not an image'), owner.headers);
    assert.equal(garbage.status, 422);
    assert.equal(garbage.body.error, 'unreadable_image', 'not "no face": the file could not be read at all');
    // A JPEG cut off after its first kilobytes: corrupt, not faceless.
    const truncated = await search({ event_id: String(A.id) }, selfieX.subarray(0, 1024), owner.headers);
    assert.equal(truncated.status, 422);
    assert.equal(truncated.body.error, 'unreadable_image');

    const people = await johns();
    const pair = await groupPhoto([people[0]!.files[5]!, people[1]!.files[5]!], 1);
    const many = await search({ event_id: String(A.id) }, pair, owner.headers);
    assert.equal(many.status, 422);
    assert.equal(many.body.error, 'multiple_faces');
    const faces = (many.body.details as { faces: { x: number }[] }).faces;
    assert.equal(faces.length, 2);
    const leftIndex = faces[0]!.x < faces[1]!.x ? 0 : 1;
    const picked = await search({ event_id: String(A.id), face_index: String(leftIndex) }, pair, owner.headers);
    assert.equal(picked.status, 200, JSON.stringify(picked.body));
    // The left face is person X (people[0]): the answer is X's photos.
    assert.deepEqual(new Set((picked.body.results as Result[]).map((r) => r.face_id)), A.withX);
  });

  it('logs every search for audit, without image data', async () => {
    const before = (await t.deps.repositories.searchAudit.listByEvent(A.id)).length;
    await search({ event_id: String(A.id) }, selfieX, owner.headers);
    const rows = await t.deps.repositories.searchAudit.listByEvent(A.id);
    assert.equal(rows.length, before + 1);
    const [last] = rows;
    assert.equal(last?.caller_type, 'photographer');
    assert.equal(last?.caller_id, String(owner.id));
    assert.equal(last?.result_count, A.withX.size);
    assert.ok((last?.best_similarity ?? 0) >= 0.7);
    assert.deepEqual(Object.keys(last!).sort(), ['best_similarity', 'caller_id', 'caller_type', 'created_at', 'event_id', 'id', 'query_time_ms', 'result_count']);
    // The selfie handed to the worker is gone from Redis.
    assert.deepEqual(await t.deps.redis.keys(`${t.deps.config.queue.prefix}:selfie:*`), []);
  });
});

describe('public search rate limit', () => {
  it('answers 429 past the per-client limit, and a forged X-Forwarded-For does not reset it', async () => {
    const t = await createTestApp({ env: { SEARCH_RATE_LIMIT_PER_MINUTE: '2' } });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        const form = new FormData();
        form.append('event_uuid', '00000000-0000-4000-8000-000000000000');
        form.append('file', new Blob([Buffer.from('x')]), 's.jpg');
        const res = await t.app.inject({ method: 'POST', url: '/api/v1/faces/search', payload: form, headers: { 'x-forwarded-for': `203.0.113.${i}` } });
        statuses.push(res.statusCode);
      }
      assert.deepEqual(statuses, [404, 404, 429]);
    } finally {
      await t.close();
    }
  });
});
