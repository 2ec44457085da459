import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bruteForceSearch, meanDirection, searchWithExpansion, type ExpansionOptions, type PhotoSearch } from '../../bench/lib/query-expansion.js';

// Unit vectors in a plane at an angle (degrees); similarity = plain cosine, so sim = cos(Δangle).
const at = (deg: number): Float32Array => new Float32Array([Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180), 0]);
const cos = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) s += a[i]! * b[i]!;
  return s;
};
const close = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-6, `${a} ≈ ${b}`);

// Query at 0°. Photo 'A' is the person, clearly (30°: 0.866). 'B' is the person in a hard shot:
// 55° from the query (0.574, below 0.7) but 25–30° from the confident matches. 'C' is a stranger
// at 95° (≥ 65° from everyone). 'AB' holds two faces: one at 170° (nobody) and one at 25° (0.906).
const faces = [
  { photoId: 'A', embedding: at(30) },
  { photoId: 'B', embedding: at(55) },
  { photoId: 'C', embedding: at(95) },
  { photoId: 'AB', embedding: at(170) },
  { photoId: 'AB', embedding: at(25) },
];
const query = at(0);
const base: ExpansionOptions = { strategy: 'none', threshold: 0.7, limit: Infinity, expandMin: 0.8, expandTop: 3 };

/** Counts searches, to check the number of database queries the algorithm reports. */
function counted(search: PhotoSearch<string>): { search: PhotoSearch<string>; calls: () => number } {
  let n = 0;
  return { search: (v, m, l) => { n++; return search(v, m, l); }, calls: () => n };
}

describe('query expansion', () => {
  it('brute-force search: best face per photo, thresholded, best first, capped', () => {
    const s = bruteForceSearch(faces, cos);
    const hits = s(query, 0.5, Infinity) as { photoId: string; similarity: number; embedding: Float32Array }[];
    assert.deepEqual(hits.map((h) => h.photoId), ['AB', 'A', 'B']); // B: 0.574
    close(hits[0]!.similarity, Math.cos((25 * Math.PI) / 180));
    assert.deepEqual([...hits[0]!.embedding], [...at(25)]); // the matching face, not the photo's first
    assert.deepEqual((s(query, 0.5, 2) as unknown[]).length, 2);
  });

  it('strategy none is the plain thresholded search, one query', async () => {
    const c = counted(bruteForceSearch(faces, cos));
    const r = await searchWithExpansion(query, c.search, base);
    assert.deepEqual(r.photos.map((p) => p.photoId), ['AB', 'A']);
    assert.ok(r.photos.every((p) => !p.viaExpansion));
    assert.equal(r.searches, 1);
    assert.equal(c.calls(), 1);
    assert.equal(r.expansions, 0);
  });

  it('multi finds the hard shot through a confident match, scored by the weakest link', async () => {
    const c = counted(bruteForceSearch(faces, cos));
    const r = await searchWithExpansion(query, c.search, { ...base, strategy: 'multi', expandTop: 1 });
    assert.deepEqual(r.photos.map((p) => p.photoId), ['AB', 'A', 'B']);
    const b = r.photos.find((p) => p.photoId === 'B')!;
    assert.equal(b.viaExpansion, true);
    assert.equal(b.direct, undefined);
    // Seed is AB's 25° face (0.906); B is 30° from it (0.866) → min(0.906, 0.866).
    close(b.similarity, Math.cos((30 * Math.PI) / 180));
    // The seed's own photo keeps its direct score under 'path' (not 1).
    close(r.photos[0]!.similarity, Math.cos((25 * Math.PI) / 180));
    assert.equal(r.expansions, 1);
    assert.equal(r.searches, 2);
    assert.equal(c.calls(), 2);
    assert.ok(!r.photos.some((p) => p.photoId === 'C'), 'the stranger stays out');
  });

  it('multi with fusion max scores the seed photo by itself', async () => {
    const r = await searchWithExpansion(query, bruteForceSearch(faces, cos), { ...base, strategy: 'multi', fusion: 'max', expandTop: 1 });
    close(r.photos[0]!.similarity, 1);
    assert.equal(r.photos[0]!.photoId, 'AB');
  });

  it('expands only from matches at or above expandMin, at most expandTop of them', async () => {
    const none = await searchWithExpansion(query, bruteForceSearch(faces, cos), { ...base, strategy: 'multi', expandMin: 0.95 });
    assert.equal(none.expansions, 0);
    assert.equal(none.searches, 1);
    assert.ok(!none.photos.some((p) => p.photoId === 'B'));
    const two = await searchWithExpansion(query, bruteForceSearch(faces, cos), { ...base, strategy: 'multi', expandTop: 10 });
    assert.equal(two.expansions, 2); // AB (0.906) and A (0.866); nothing else is ≥ 0.8
    assert.equal(two.searches, 3);
  });

  it('average searches once more with the mean of the query and the seeds', async () => {
    const c = counted(bruteForceSearch(faces, cos));
    const r = await searchWithExpansion(query, c.search, { ...base, strategy: 'average', expandTop: 2 });
    // Mean of 0°, 25°, 30° points at ≈18.3°; B at 55° is ≈36.7° away → 0.80 ≥ 0.7.
    const b = r.photos.find((p) => p.photoId === 'B');
    assert.ok(b?.viaExpansion);
    const mean = meanDirection([query, at(25), at(30)]);
    close(b.similarity, cos(mean, at(55)));
    assert.equal(c.calls(), 2);
    assert.equal(r.searches, 2);
    assert.ok(!r.photos.some((p) => p.photoId === 'C'));
    // Fused score is the best of direct and expanded: A is closer to the mean than to the query.
    close(r.photos.find((p) => p.photoId === 'A')!.similarity, Math.max(cos(query, at(30)), cos(mean, at(30))));
  });

  it('keeps the threshold on the fused score and the limit on the result', async () => {
    const strict = await searchWithExpansion(query, bruteForceSearch(faces, cos), { ...base, strategy: 'multi', threshold: 0.95 });
    assert.deepEqual(strict.photos, []);
    const top2 = await searchWithExpansion(query, bruteForceSearch(faces, cos), { ...base, strategy: 'multi', limit: 2 });
    assert.equal(top2.photos.length, 2);
    assert.ok(top2.photos[0]!.similarity >= top2.photos[1]!.similarity);
  });

  it('meanDirection zero-pads shorter vectors and returns a unit vector', () => {
    const m = meanDirection([new Float32Array([1, 0]), new Float32Array([0, 0, 1])]);
    assert.equal(m.length, 3);
    close(m[0]!, Math.SQRT1_2);
    close(m[1]!, 0);
    close(m[2]!, Math.SQRT1_2);
  });
});
