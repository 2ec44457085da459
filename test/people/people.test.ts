import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { johns, selfie } from '../helpers/dev-event.js';
import { createFaceEngine, toStorageVector, type FaceEngine } from '../../src/vision/index.js';
import { faceQuality } from '../../src/vision/face-quality.js';
import { testModelDir } from '../vision/fixtures.js';

import { createFaceCohortService } from '../../src/services/face-cohort.service.js';
import { createSelfieSearchService } from '../../src/services/selfie-search.service.js';
import { createLiveDeliveryService } from '../../src/services/live-delivery.service.js';
import { LIVE_THRESHOLD } from '../../src/services/match-decision.js';
import { pairwiseScores } from '../../src/services/person-clustering.js';
import { buildCli } from '../../src/cli.js';

interface PersonJson {
  id: number;
  hidden: boolean;
  face_count: number;
  photo_count: number;
  representative: { face_row: number; photo_id: number; thumbnail_url: string | null } | null;
}

describe('people in an event (real photos, PostgreSQL + pgvector)', () => {
  let t: TestApp;
  let engine: FaceEngine;
  let alice: { id: number; headers: { authorization: string } };
  let bob: { id: number; headers: { authorization: string } };
  let eventId: number;
  const PACK = 'faceapi-resnet128';
  /** photo id → true person. */
  const truth = new Map<number, string>();
  const selfies = new Map<string, string>();

  const storePhoto = async (file: string, person: string): Promise<number> => {
    const { photos, embeddings } = t.deps.repositories;
    const inserted = await photos.insertPending({ event_id: eventId, s3_key: `events/${eventId}/${crypto.randomUUID()}.jpg`, image_url: '', content_hash: crypto.randomBytes(32).toString('hex'), size_bytes: 1000, content_type: 'image/jpeg', original_name: 'x.jpg' });
    const id = inserted!.photo.id;
    const analysis = await engine.analyze(await readFile(file));
    const face = analysis.faces.sort((a, b) => b.box.width - a.box.width)[0]!;
    const vector = toStorageVector(face.embedding);
    const target = { faceId: id, eventId, modelPack: PACK };
    const cohorts = createFaceCohortService({ embeddings, vectors: t.deps.repositories.vectorSearch });
    const [cohort] = await cohorts.forNewFaces(target, [vector]);
    await embeddings.replaceForPhoto(target, [{ vector, box: face.box, score: face.score, yaw: faceQuality(face).yaw, cohort: cohort! }]);
    await photos.markDone(id, { confidence: face.score, width: analysis.width, height: analysis.height, preview_key: `events/${eventId}/p-${id}.jpg`, thumbnail_key: `events/${eventId}/t-${id}.jpg`, face_count: 1, model_pack: PACK });
    truth.set(id, person);
    return id;
  };

  const list = async (who = alice): Promise<PersonJson[]> => {
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/events/${eventId}/persons`, headers: who.headers });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ items: PersonJson[] }>().items;
  };
  const personOfPhoto = async (photoId: number): Promise<number> => {
    const rows = await t.deps.dbs.vector.selectFrom('event_person_faces as pf').innerJoin('face_embeddings as fe', 'fe.id', 'pf.face_row').select('pf.person_id').where('fe.face_id', '=', photoId).execute();
    return rows[0]!.person_id!;
  };

  before(async () => {
    t = await createTestApp();
    engine = await createFaceEngine({ modelDir: testModelDir() });
    alice = await t.photographer();
    bob = await t.photographer();
    eventId = (await t.app.inject({ method: 'POST', url: '/api/v1/events/', headers: alice.headers, payload: { name: 'people' } })).json<{ id: number }>().id;
    // 5 johns × 8 photos; the 9th of each joins later (incremental), the 11th is the selfie.
    for (const person of await johns()) {
      for (const file of person.files.slice(0, 8)) await storePhoto(file, person.name);
      selfies.set(person.name, person.files[10]!);
    }
  });

  after(async () => {
    await engine.close();
    await t.close();
  });

  it('groups the faces into their true persons', async () => {
    const run = await t.deps.services.people.cluster({ eventId });
    assert.equal(run.faces, 40);
    const ids = [...truth.keys()];
    const labels = await Promise.all(ids.map(personOfPhoto));
    const scores = pairwiseScores(labels, ids.map((id) => truth.get(id)!));
    assert.equal(scores.precision, 1, 'never two johns in one person');
    assert.ok(scores.recall >= 0.9, `recall ${scores.recall}`);
    const persons = await list();
    assert.ok(persons.length >= 5 && persons.length <= 7, `${persons.length} persons`);
    assert.equal(persons.reduce((n, p) => n + p.face_count, 0), 40);
    assert.ok(persons[0]!.representative?.thumbnail_url, 'a thumbnail for the representative face');
  });

  it('places a new photo into its person without re-clustering', async () => {
    const before = await list();
    const john = (await johns())[2]!;
    const photo = await storePhoto(john.files[8]!, john.name);
    const run = await t.deps.services.people.cluster({ eventId });
    assert.equal(run.newFaces, 1);
    const personId = await personOfPhoto(photo);
    const others = [...truth].filter(([id, name]) => name === john.name && id !== photo).map(([id]) => id);
    assert.equal(personId, await personOfPhoto(others[0]!), 'joins the person of the same john');
    assert.equal((await list()).length, before.length);
  });

  it('shows an event’s persons only to its photographer (404 for another)', async () => {
    const [p1, p2] = await list();
    const tries = [
      { method: 'GET' as const, url: `/api/v1/events/${eventId}/persons` },
      { method: 'GET' as const, url: `/api/v1/events/${eventId}/persons/${p1!.id}/photos` },
      { method: 'POST' as const, url: `/api/v1/events/${eventId}/persons/${p1!.id}/merge`, payload: { person_id: p2!.id } },
      { method: 'POST' as const, url: `/api/v1/events/${eventId}/persons/${p1!.id}/split`, payload: { face_row: p1!.representative!.face_row } },
      { method: 'PATCH' as const, url: `/api/v1/events/${eventId}/persons/${p1!.id}`, payload: { hidden: true } },
      { method: 'POST' as const, url: `/api/v1/events/${eventId}/persons/recluster` },
    ];
    for (const req of tries) {
      const res = await t.app.inject({ ...req, headers: bob.headers });
      assert.equal(res.statusCode, 404, `${req.method} ${req.url}: ${res.body}`);
    }
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/events/${eventId}/persons` })).statusCode, 401);
    // Nothing changed for alice.
    assert.deepEqual((await list()).map((p) => [p.id, p.hidden, p.face_count]), [p1, p2, ...(await list()).slice(2)].map((p) => [p!.id, p!.hidden, p!.face_count]));
    assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/events/${eventId}/persons/999999/photos`, headers: alice.headers })).statusCode, 404);
  });

  it('never returns a hidden person to any search or live delivery, and finds them again once unhidden', async () => {
    const { repositories: r } = t.deps;
    const cohorts = createFaceCohortService({ embeddings: r.embeddings, vectors: r.vectorSearch });
    const search = createSelfieSearchService({ engine, selfies: r.selfies, vectors: r.vectorSearch, cohorts, people: t.deps.services.people });
    const hiddenName = (await johns())[0]!.name;
    const hiddenPhoto = [...truth].find(([, name]) => name === hiddenName)![0];
    const hiddenPerson = await personOfPhoto(hiddenPhoto);
    const res = await t.app.inject({ method: 'PATCH', url: `/api/v1/events/${eventId}/persons/${hiddenPerson}`, headers: alice.headers, payload: { hidden: true } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json<PersonJson>().hidden, true);

    const searchAll = async (): Promise<Map<string, string[]>> => {
      const found = new Map<string, string[]>();
      for (const [name, file] of selfies) {
        const key = await r.selfies.stash(await selfie(file));
        const result = await search.search({ selfieKeys: [key], eventId, threshold: 0.3, limit: 100 });
        assert.equal(result.status, 'ok');
        if (result.status === 'ok') found.set(name, result.matches.map((m) => truth.get(m.faceId)!));
      }
      return found;
    };
    // Every identity searches, at the lowest photographer threshold: no hidden photo anywhere.
    const found = await searchAll();
    for (const [name, names] of found) {
      assert.ok(!names.includes(hiddenName), `${name}'s search returned a hidden photo`);
      if (name !== hiddenName) assert.ok(names.filter((n) => n === name).length >= 7, `${name} still finds their photos`);
    }

    // Live delivery: every identity subscribed with their selfie; the hidden one's photos reach nobody.
    const sent: number[] = [];
    const delivery = createLiveDeliveryService({
      photos: r.photos, events: r.events, participants: r.participants, participantEmbeddings: r.participantEmbeddings, cohorts, people: t.deps.services.people, storage: t.deps.storage,
      sender: { sendPhotos: async (_to, photos) => (sent.push(...photos.map((p) => p.faceId)), 'sent'), sendOriginalButtons: async () => 'sent' },
      jobs: { enqueue: async () => undefined as never }, threshold: LIVE_THRESHOLD, batchMs: 1000,
    });
    let k = 0;
    for (const [, file] of selfies) {
      const p = await r.participants.upsert(9_100_000 + ++k, 'en');
      await r.participants.join(p.id, eventId);
      await r.participants.update(p.id, { consent_at: new Date() });
      await r.participants.setLiveDelivery(p.id, eventId, true);
      const face = (await engine.analyze(await selfie(file), { mode: 'selfie' })).faces[0]!;
      await r.participantEmbeddings.upsert({ participantId: p.id, eventId, vector: toStorageVector(face.embedding), modelPack: PACK });
    }
    let hiddenRecorded = 0, visibleRecorded = 0;
    for (const [photo, name] of truth) {
      const { recorded } = await delivery.deliver({ faceId: photo, eventId });
      if (name === hiddenName) hiddenRecorded += recorded;
      else visibleRecorded += recorded;
    }
    assert.equal(hiddenRecorded, 0, 'no live delivery of a hidden person');
    assert.ok(visibleRecorded >= 20, `other persons' photos are delivered (${visibleRecorded})`);

    // A new photo of the hidden guest, not clustered yet, is held back too.
    const fresh = await storePhoto((await johns())[0]!.files[9]!, hiddenName);
    assert.equal((await delivery.deliver({ faceId: fresh, eventId })).recorded, 0, 'unclustered photo of a hidden person');
    assert.ok(!(await searchAll()).get(hiddenName)!.includes(hiddenName));

    // A hidden photo's faces written anew (a processing retry, or re-embedding after a model pack
    // switch: new rows, new ids) stay with the hidden person instead of coming back as a new one.
    const rewritten = hiddenPhoto;
    const stored = await t.deps.dbs.vector
      .selectFrom('face_embeddings')
      .select(['embedding', 'bbox_x', 'bbox_y', 'bbox_width', 'bbox_height', 'detection_score', 'yaw', 'cohort_mean'])
      .where('event_id', '=', eventId)
      .where('face_id', '=', rewritten)
      .execute();
    await r.embeddings.replaceForPhoto(
      { faceId: rewritten, eventId, modelPack: PACK },
      stored.map((f) => ({
        vector: JSON.parse(String(f.embedding)) as number[],
        box: { x: f.bbox_x, y: f.bbox_y, width: f.bbox_width, height: f.bbox_height },
        score: f.detection_score,
        yaw: f.yaw,
        cohort: f.cohort_mean ?? undefined,
      })),
    );
    assert.equal(await personOfPhoto(rewritten), hiddenPerson, 'the rewritten face keeps its (hidden) person');
    assert.ok(!(await searchAll()).get(hiddenName)!.includes(hiddenName), 'and stays hidden');

    await t.app.inject({ method: 'PATCH', url: `/api/v1/events/${eventId}/persons/${hiddenPerson}`, headers: alice.headers, payload: { hidden: false } });
    assert.ok((await searchAll()).get(hiddenName)!.filter((n) => n === hiddenName).length >= 7, 'found again once unhidden');
  });

  it('merges two persons and splits a face off', async () => {
    const [a, b] = await list();
    const merged = await t.app.inject({ method: 'POST', url: `/api/v1/events/${eventId}/persons/${a!.id}/merge`, headers: alice.headers, payload: { person_id: b!.id } });
    assert.equal(merged.statusCode, 200, merged.body);
    assert.equal(merged.json<PersonJson>().face_count, a!.face_count + b!.face_count);
    assert.ok(!(await list()).some((p) => p.id === b!.id));
    assert.equal((await t.app.inject({ method: 'POST', url: `/api/v1/events/${eventId}/persons/${a!.id}/merge`, headers: alice.headers, payload: { person_id: a!.id } })).statusCode, 400);

    const photos = (await t.app.inject({ method: 'GET', url: `/api/v1/events/${eventId}/persons/${a!.id}/photos`, headers: alice.headers })).json<{ faces: { face_row: number }[]; photos: unknown[] }>();
    assert.equal(photos.faces.length, a!.face_count + b!.face_count);
    assert.equal(photos.photos.length, photos.faces.length);
    const split = await t.app.inject({ method: 'POST', url: `/api/v1/events/${eventId}/persons/${a!.id}/split`, headers: alice.headers, payload: { face_row: photos.faces.at(-1)!.face_row } });
    assert.equal(split.statusCode, 201, split.body);
    assert.equal(split.json<PersonJson>().face_count, 1);
    assert.equal((await list()).find((p) => p.id === a!.id)!.face_count, a!.face_count + b!.face_count - 1);
    // Incremental runs keep the organizer's edits.
    await t.deps.services.people.cluster({ eventId });
    assert.equal((await list()).find((p) => p.id === a!.id)!.face_count, a!.face_count + b!.face_count - 1);
  });

  it('reports coverage in insights', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/events/${eventId}/insights`, headers: alice.headers });
    assert.equal(res.statusCode, 200, res.body);
    const { coverage, participants } = res.json<{ coverage: { persons: number; single_photo: number; many_photos: number; hidden: number; participants_without_photos: number }; participants: { joined: number; found: number } }>();
    const persons = await list();
    assert.equal(coverage.persons, persons.length);
    assert.equal(coverage.single_photo, persons.filter((p) => p.photo_count === 1).length);
    assert.ok(coverage.single_photo >= 1, 'the split-off face is a person in one photo');
    assert.equal(coverage.many_photos, persons.filter((p) => p.photo_count >= 10).length);
    assert.equal(coverage.participants_without_photos, participants.joined - participants.found);
    assert.equal(coverage.participants_without_photos, 5, 'five subscribers, no photo sent yet');
  });

  it('lists persons and coverage with `facepass people --event ID --json` (and 404 for another photographer’s key)', async () => {
    const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const key = (who: typeof alice): string => who.headers.authorization.replace(/^Bearer /, '');
    const lines: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => void lines.push(args.join(' '));
    try {
      await buildCli({ FACEPASS_URL: address, FACEPASS_API_KEY: key(alice) }).parseAsync(['node', 'facepass', 'people', '--event', String(eventId), '--json']);
    } finally {
      console.log = log;
    }
    const out = JSON.parse(lines.join('\n')) as { coverage: { persons: number }; persons: PersonJson[] };
    assert.deepEqual(out.persons.map((p) => p.id), (await list()).map((p) => p.id));
    assert.equal(out.coverage.persons, out.persons.length);
    await assert.rejects(buildCli({ FACEPASS_URL: address, FACEPASS_API_KEY: key(bob) }).parseAsync(['node', 'facepass', 'people', '--event', String(eventId)]), /not found/i);
  });

  it('/forget’s "hide me too" hides the person the participant’s selfie matches, then forgets them', async () => {
    const r = t.deps.repositories;
    const name = (await johns())[1]!.name;
    const photo = [...truth].find(([, n]) => n === name)![0];
    const personId = await personOfPhoto(photo);
    assert.equal((await list()).find((p) => p.id === personId)!.hidden, false);
    // The second participant subscribed above with johns[1]'s selfie.
    const participant = (await r.participants.findByTelegramId(9_100_002))!;
    assert.equal(await t.deps.services.participants.forgetAndHide(participant), 1);
    assert.equal((await list()).find((p) => p.id === personId)!.hidden, true);
    assert.equal((await list()).filter((p) => p.hidden).length, 1, 'only that person');
    assert.equal(await r.participants.findByTelegramId(9_100_002), undefined, 'and the participant is forgotten');
    assert.equal(await r.participantEmbeddings.count(participant.id), 0);
  });

  it('deletes the persons with the event', async () => {
    await t.deps.services.eventCleanup.purgeEvent(eventId);
    for (const table of ['event_persons', 'event_person_faces', 'event_person_state'] as const) {
      const rows = await t.deps.dbs.vector.selectFrom(table).select('event_id').where('event_id', '=', eventId).execute();
      assert.equal(rows.length, 0, table);
    }
  });
});


