import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { johns, selfie } from '../helpers/dev-event.js';
import { createFaceEngine, normalize, toStorageVector, type FaceEngine } from '../../src/vision/index.js';
import { faceQuality } from '../../src/vision/face-quality.js';
import { testModelDir } from '../vision/fixtures.js';
import { cohortMean, isMatchable, matchPolicyFor, matchSimilarity, OPERATING_POINT, rankPhotos, type MatchPolicy } from '../../src/services/match-decision.js';
import { computeFaceCohorts, createFaceCohortService } from '../../src/services/face-cohort.service.js';
import { createSelfieSearchService } from '../../src/services/selfie-search.service.js';
import { cosineToSimilarity } from '../../src/vision/similarity-calibration.js';

const policy: MatchPolicy = matchPolicyFor('faceapi-resnet128');

describe('match decision rule', () => {
  it('fills a short cohort with the prior and leaves same-person neighbours out', () => {
    const p = { ...policy, cohortSize: 4, sameCutoff: 0.9, prior: 0.8 };
    assert.equal(cohortMean([], p), 0.8, 'an empty event is judged by the prior');
    assert.ok(Math.abs(cohortMean([0.95, 0.99, 0.7], p) - (0.7 + 3 * 0.8) / 4) < 1e-9, 'values at or above the cutoff are skipped');
    assert.ok(Math.abs(cohortMean([0.1, 0.5, 0.6, 0.85, 0.2, 0.7], p) - (0.85 + 0.7 + 0.6 + 0.5) / 4) < 1e-9, 'the K highest');
  });

  it('puts the operating point at margin0, and gates faces that cannot be recognised', () => {
    const at = { cosine: 0.95, queryCohort: 0.95 - policy.margin0, faceCohort: 0.95 - policy.margin0, quality: { size: 100, yaw: 0 } };
    assert.ok(Math.abs(matchSimilarity(at, policy) - OPERATING_POINT) < 1e-9);
    assert.ok(matchSimilarity({ ...at, cosine: 0.96 }, policy) > OPERATING_POINT);
    assert.ok(matchSimilarity({ ...at, faceCohort: at.faceCohort + 0.02 }, policy) < OPERATING_POINT, 'a face that resembles everyone needs more');
    assert.equal(matchSimilarity({ ...at, quality: { size: policy.minFaceSize - 1, yaw: 0 } }, policy), 0, 'too small');
    assert.equal(matchSimilarity({ ...at, quality: { size: 100, yaw: policy.maxYaw + 0.01 } }, policy), 0, 'too turned');
    assert.equal(matchSimilarity({ ...at, cosine: policy.rawFloor - 0.001, queryCohort: 0, faceCohort: 0 }, policy), 0, 'never below the raw floor');
    assert.ok(isMatchable({ size: policy.minFaceSize, yaw: 0 }, policy));
  });

  it('counts no cohort as lower than the floor: a small event is not judged more leniently than the prior', () => {
    const at = { cosine: 0.93, queryCohort: policy.cohortFloor, faceCohort: policy.cohortFloor, quality: { size: 100, yaw: 0 } };
    const low = { ...at, queryCohort: policy.cohortFloor - 0.05, faceCohort: policy.cohortFloor - 0.04 };
    assert.equal(matchSimilarity(low, policy), matchSimilarity(at, policy));
    assert.ok(matchSimilarity({ ...at, queryCohort: policy.cohortFloor + 0.01 }, policy) < matchSimilarity(at, policy), 'above the floor a cohort still counts');
    assert.ok(matchSimilarity({ ...low, cosine: policy.cohortFloor + policy.margin0 - 0.002 }, policy) < OPERATING_POINT, 'a raw cosine of floor + margin0 is the least that can match');
  });

  it('ranks photos by their best face, above the threshold, best first', () => {
    const c = (faceId: number, cosine: number) => ({ faceId, cosine, cohort: 0.85, size: 80, yaw: 0 });
    const ranked = rankPhotos([c(1, 0.93), c(2, 0.97), c(1, 0.96), c(3, 0.89)], 0.85, policy, { threshold: 0.7, limit: 10 });
    assert.deepEqual(ranked.map((r) => r.faceId), [2, 1]);
    assert.ok(ranked[0]!.similarity >= ranked[1]!.similarity);
    assert.equal(rankPhotos([c(1, 0.97), c(2, 0.96)], 0.85, policy, { threshold: 0.7, limit: 1 }).length, 1);
  });
});

describe('match decision on real photos (PostgreSQL + pgvector)', () => {
  let t: TestApp;
  let engine: FaceEngine;
  const EVENT = 424242;
  const PACK = 'faceapi-resnet128';
  /** photo id → person, and each photo's stored face vector. */
  const people = new Map<number, string>();
  const vectors: Float32Array[] = [];
  const photoIds: number[] = [];

  before(async () => {
    t = await createTestApp();
    engine = await createFaceEngine({ modelDir: testModelDir() });
    const cohorts = createFaceCohortService({ embeddings: t.deps.repositories.embeddings, vectors: t.deps.repositories.vectorSearch });
    // Event: photos 0..9 of each john, one face per photo (the 11th photo of each is kept for selfies).
    let photo = 1;
    for (const person of await johns()) {
      for (const file of person.files.slice(0, 10)) {
        const analysis = await engine.analyze(await readFile(file));
        const face = analysis.faces.sort((a, b) => b.box.width - a.box.width)[0]!;
        const vector = toStorageVector(face.embedding);
        const target = { faceId: photo, eventId: EVENT, modelPack: PACK };
        const [cohort] = await cohorts.forNewFaces(target, [vector]);
        await t.deps.repositories.embeddings.replaceForPhoto(target, [{ vector, box: face.box, score: face.score, yaw: faceQuality(face).yaw, cohort: cohort! }]);
        people.set(photo, person.name);
        vectors.push(Float32Array.from(face.embedding));
        photoIds.push(photo);
        photo++;
      }
    }
  });

  after(async () => {
    await engine.close();
    await t.close();
  });

  it('stores the same cohorts the refresh job and the benchmark compute', async () => {
    const cohorts = createFaceCohortService({ embeddings: t.deps.repositories.embeddings, vectors: t.deps.repositories.vectorSearch });
    // The last photo was stored into the complete event: its insertion-time cohort is already exact.
    const expected = computeFaceCohorts(vectors, photoIds, policy);
    const stored = async (): Promise<number[]> =>
      (await t.deps.dbs.vector.selectFrom('face_embeddings').select(['face_id', 'cohort_mean']).where('event_id', '=', EVENT).orderBy('face_id').execute()).map((r) => Number(r.cohort_mean));
    const last = (await stored()).at(-1)!;
    assert.ok(Math.abs(last - expected.at(-1)!) < 1e-4, `last photo: stored ${last}, computed ${expected.at(-1)}`);
    // The first photo saw an empty event: its cohort was the prior until the refresh.
    assert.equal((await stored())[0], policy.prior);
    assert.deepEqual(await cohorts.refresh({ eventId: EVENT, modelPack: PACK, dimensions: 128 }), { faces: vectors.length });
    const after = await stored();
    after.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-4, `face ${i}: stored ${v}, computed ${expected[i]}`));
    assert.equal(await t.deps.repositories.embeddings.cohortsRefreshedAt(EVENT, PACK), vectors.length);
  });

  it('finds each person’s photos from a selfie, and only theirs', async () => {
    const search = createSelfieSearchService({ engine, selfies: t.deps.repositories.selfies, vectors: t.deps.repositories.vectorSearch, cohorts: createFaceCohortService({ embeddings: t.deps.repositories.embeddings, vectors: t.deps.repositories.vectorSearch }) });
    for (const person of await johns()) {
      const key = await t.deps.repositories.selfies.stash(await selfie(person.files[10]!));
      const result = await search.search({ selfieKeys: [key], eventId: EVENT, threshold: OPERATING_POINT, limit: 50 });
      assert.equal(result.status, 'ok');
      if (result.status !== 'ok') continue;
      const found = result.matches.map((m) => people.get(m.faceId));
      assert.ok(found.every((name) => name === person.name), `${person.name}: no one else (${found.join(', ')})`);
      assert.ok(found.length >= 9, `${person.name}: ${found.length} of 10 photos`);
    }
  });

  it('judges a face that resembles everyone more strictly than any real face', async () => {
    // The "average face" of the event: close to every person, truly none of them.
    const hub = new Float32Array(128);
    for (const v of vectors) for (let i = 0; i < 128; i++) hub[i]! += v[i]!;
    normalize(hub);
    const cohorts = createFaceCohortService({ embeddings: t.deps.repositories.embeddings, vectors: t.deps.repositories.vectorSearch });
    const hubCohort = await cohorts.cohortIn({ eventId: EVENT, modelPack: PACK, excludePhoto: 9999 }, toStorageVector(hub));
    const real = computeFaceCohorts(vectors, photoIds, policy);
    assert.ok(hubCohort > Math.max(...real), `the average face's cohort ${hubCohort.toFixed(3)} is above every real face's (max ${Math.max(...real).toFixed(3)})`);
    // At the same raw similarity to a selfie, it therefore scores lower than any real face.
    const at = (faceCohort: number) => matchSimilarity({ cosine: 0.94, queryCohort: 0.86, faceCohort, quality: { size: 120, yaw: 0 } }, policy);
    assert.ok(at(hubCohort) < Math.min(...Array.from(real, (c) => at(c))));
    // And the fixed threshold of old treated it like a real face: for most selfies it was a match.
    let oldRuleHits = 0;
    for (const person of await johns()) {
      const q = (await engine.analyze(await selfie(person.files[10]!), { mode: 'selfie' })).faces[0]!.embedding;
      let dot = 0;
      for (let i = 0; i < 128; i++) dot += q[i]! * hub[i]!;
      if (cosineToSimilarity(1 - dot, PACK) >= OPERATING_POINT) oldRuleHits++;
    }
    assert.ok(oldRuleHits >= 3, `the fixed threshold matched the average face for ${oldRuleHits} of 5 people`);
  });
});
