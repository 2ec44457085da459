/**
 * Precision at event scale (issue #12): does a selfie search return the participant's photos, and
 * only theirs, as the event grows?   npm run bench:precision [-- --fit | --pairs] [--flip]
 *
 * Corpus (bench/lib/precision-corpus.ts, built once and cached): every face photo on this machine
 * (faces-dev, dlib johns/ and faces/, face-api's demo photos) cut into labelled crops and
 * re-photographed as ~600 augmented collages (~5,200 faces, ~4,500 of them strangers). Queries are
 * the 81 identity photos in selfie mode; events are the first collages up to 200 … 5,000 faces.
 *
 * People are split in two halves before anything is fitted:
 * - FIT: dlib's five johns and faces-dev's adams, biden, carell, clapton, kate_siegel, kit_harington;
 * - TEST: alex_lacamoire, lennon, lin_manuel_miranda, obama, paul_rudd, rose_leslie, shea_whigham.
 * `--fit` searches the decision's parameters on FIT queries only and prints the best; the table
 * below is printed for TEST (and FIT beside it), with the parameters in src/services/match-decision.ts.
 * Strangers are shared by both halves (there are too few distinct ones to split).
 *
 * Every score goes through the product's own code: computeFaceCohorts (the refresh job's),
 * cohortMean and rankPhotos' matchSimilarity; the service computes the same values in SQL
 * (test/search/match-decision.test.ts checks they agree).
 */
import path from 'node:path';
import { FaceApiEngine } from '../src/vision/faceapi-pack.js';
import { cosineToSimilarity } from '../src/vision/similarity-calibration.js';
import { cohortFromSimilarities, computeFaceCohorts } from '../src/services/face-cohort.service.js';
import { LIVE_THRESHOLD, matchPolicyFor, matchSimilarity, OPERATING_POINT, type MatchPolicy } from '../src/services/match-decision.js';
import { devDataDir, testModelDir } from '../test/vision/fixtures.js';
import { loadPrecisionCorpus, type Corpus, type CorpusFace } from './lib/precision-corpus.js';
import { atRecall, atThreshold, cohorts, eventOf, scorePhotos, type EventMatrix, type Query } from './lib/precision-eval.js';
import { fuseTemplates, templatesAgree } from '../src/services/selfie-search.service.js';
import { identityEvent } from './lib/identity-event.js';

const SIZES = [50, 200, 1000, 2000, 5000];
/** The fit's budget: false photos per search allowed on FIT at every size (half the 0.05, for margin). */
const FIT_FALSE_PER_SEARCH = Number(process.env.FIT_FALSE_PER_SEARCH ?? 0.02);
const FIT_PEOPLE = new Set(['adams', 'biden', 'carell', 'clapton', 'kate_siegel', 'kit_harington']);
const isFit = (person: string): boolean => person.startsWith('john:') || FIT_PEOPLE.has(person);
const PACK = 'faceapi-resnet128';

/** One event's matrices for a query set, and the product's similarity for a policy. */
function scorer(ev: EventMatrix, policy: MatchPolicy) {
  const photoIds = ev.faces.map((f) => f.photo);
  const faceCohort = computeFaceCohorts(ev.faces.map((f) => Float32Array.from(f.embedding.slice(0, 128))), photoIds, policy);
  const vectors = ev.faces.map((f) => f.embedding);
  const queryCohort = ev.qf.map((row) => cohortFromSimilarities(row, (k) => vectors[k]!, policy));
  return (q: number, f: number): number =>
    matchSimilarity({ cosine: ev.qf[q]![f]!, queryCohort: queryCohort[q]!, faceCohort: faceCohort[f]!, quality: ev.faces[f]!.quality }, policy);
}

/** The old rule: raw cosine through the fixed calibration (0.7 ≈ cosine 0.912). */
const legacy = (ev: EventMatrix) => (q: number, f: number): number => cosineToSimilarity(1 - ev.qf[q]![f]!, PACK);

/** Genuine pairs on their own (no strangers): the new rule must not lose more than 2 points of recall. */
function printGenuinePairRecall(events: { label: string; corpus: Corpus }[]): void {
  const policy = matchPolicyFor(PACK);
  const pct = (v: number): string => `${(v * 100).toFixed(1)} %`;
  console.log('\nRecall on genuine pairs, every photo a selfie query against the others (threshold 0.7):');
  console.log('| photos | old rule | new rule |');
  console.log('|---|---|---|');
  for (const { label, corpus: c } of events) {
    const ev = eventOf(c, c.faces.length, c.queries);
    const old = atThreshold(scorePhotos(ev, legacy(ev)), OPERATING_POINT, c.queries.length);
    const now = atThreshold(scorePhotos(ev, scorer(ev, policy)), OPERATING_POINT, c.queries.length);
    console.log(`| ${label} (${c.photos} photos, ${new Set(c.queries.map((q) => q.person)).size} people) | ${pct(old.recall)} (P ${pct(old.precision)}) | ${pct(now.recall)} (P ${pct(now.precision)}) |`);
  }
}

const started = performance.now();
const engine = await FaceApiEngine.create({ modelDir: testModelDir(), intraOpThreads: 2 });
// --flip: every face embedded with its mirror image too (FaceApiEngine.flipAverage), on a corpus of its own.
const flip = process.argv.includes('--flip');
engine.flipAverage = flip;
// The small identity-only events of the genuine-pair check, with the same engine.
const identityEvents = [
  { label: 'dlib johns/', corpus: await identityEvent(engine, path.join(await devDataDir(), 'johns')) },
  { label: 'faces-dev identities/', corpus: await identityEvent(engine, path.resolve('../shared/data/faces-dev/identities')) },
];
if (process.argv.includes('--pairs')) {
  await engine.close();
  printGenuinePairRecall(identityEvents);
  process.exit(0);
}
const corpus: Corpus = await loadPrecisionCorpus({
  engine,
  cacheDir: path.resolve(flip ? 'test/.fixtures/precision-flip' : 'test/.fixtures/precision'),
  devDir: await devDataDir(),
  facesDevDir: path.resolve('../shared/data/faces-dev'),
  demoDir: path.resolve('node_modules/@vladmandic/face-api/demo'),
  targetFaces: 5200,
  log: (s) => process.stderr.write(`${s}\n`),
});
await engine.close();
const strangers = corpus.faces.filter((f) => f.person.startsWith('stranger:')).length;
console.log(`corpus: ${corpus.faces.length} faces on ${corpus.photos} photos (${strangers} of strangers), ${corpus.queries.length} selfies of ${new Set(corpus.queries.map((q) => q.person)).size} people`);

/** scorer() for the grid: cohorts from the event's cosine matrix (same values), cached per cohort shape. */
function fastScorer(ev: EventMatrix, policy: MatchPolicy, cache: Map<string, { face: Float32Array; query: Float32Array }>, eventIndex: number) {
  const key = `${eventIndex}:${policy.cohortSize}:${policy.sameCutoff}:${policy.prior}`;
  let c = cache.get(key);
  if (!c) cache.set(key, (c = cohorts(ev, policy)));
  const { face, query } = c;
  return (q: number, f: number): number => matchSimilarity({ cosine: ev.qf[q]![f]!, queryCohort: query[q]!, faceCohort: face[f]!, quality: ev.faces[f]!.quality }, policy);
}


/**
 * Two selfies of one person fused into one template (as the API and bot do), against each of them
 * alone, on the same targets: neither selfie's photo counts. Pairs the service would refuse as
 * `selfies_disagree` are counted, not searched.
 */
function printTwoSelfies(): void {
  const policy = matchPolicyFor(PACK);
  const pct = (v: number): string => `${(v * 100).toFixed(1)} %`;
  console.log('\nTwo selfies fused (every pair of one person\'s identity photos) against either alone, same targets, threshold 0.7:');
  console.log('| half | event faces | pairs searched (refused as disagreeing) | one selfie P / R / false per search | two fused P / R / false per search |');
  console.log('|---|---|---|---|---|');
  for (const half of ['TEST', 'FIT'] as const) {
    const alone: Query[] = [];
    const fused: Query[] = [];
    let refused = 0;
    const byPerson = new Map<string, CorpusFace[]>();
    for (const q of halves[half]) byPerson.set(q.person, [...(byPerson.get(q.person) ?? []), q]);
    for (const photos of byPerson.values()) {
      for (let i = 0; i < photos.length; i++) {
        for (let j = i + 1; j < photos.length; j++) {
          const a = photos[i]!, b = photos[j]!;
          const vectors = [a, b].map((q) => Float32Array.from(q.embedding.slice(0, 128)));
          if (!templatesAgree(vectors, policy)) { refused++; continue; }
          const sources = [a.source, b.source];
          alone.push({ ...a, sources }, { ...b, sources });
          fused.push({ ...a, sources, embedding: [...fuseTemplates(vectors)] });
        }
      }
    }
    for (const size of SIZES.slice(1)) {
      const [one, two] = [alone, fused].map((queries) => {
        const ev = eventOf(corpus, size, queries);
        return { n: ev.n, o: atThreshold(scorePhotos(ev, scorer(ev, policy)), OPERATING_POINT, queries.length) };
      });
      const fmt = (o: ReturnType<typeof atThreshold>): string => `${pct(o.precision)} / ${pct(o.recall)} / ${o.falsePerSearch.toFixed(3)}`;
      console.log(`| ${half} | ${one!.n} | ${fused.length} (${refused}) | ${fmt(one!.o)} | ${fmt(two!.o)} |`);
    }
  }
}

const halves: Record<'FIT' | 'TEST', CorpusFace[]> = { FIT: corpus.queries.filter((q) => isFit(q.person)), TEST: corpus.queries.filter((q) => !isFit(q.person)) };

if (process.argv.includes('--fit')) {
  // Grid over the cohort's shape and the quality gate; for each, the lowest margin0 at which FIT
  // has at most FIT_FALSE_PER_SEARCH false photos per search at every size, then the recall that leaves.
  const events = SIZES.map((size) => eventOf(corpus, size, halves.FIT));
  const base = matchPolicyFor(PACK);
  const rows: { policy: MatchPolicy; recall: number }[] = [];
  const cohortCache = new Map<string, { face: Float32Array; query: Float32Array }>();
  for (const cohortSize of process.env.FIT_K ? [Number(process.env.FIT_K)] : [5, 10, 20]) {
    for (const sameCutoff of process.env.FIT_CUTOFF ? [Number(process.env.FIT_CUTOFF)] : [0.86, 0.88, 0.9, 0.92]) {
      for (const minFaceSize of [0, 28, 36]) {
        const combine = (process.env.FIT_COMBINE ?? base.combine) as MatchPolicy['combine'];
        // The prior and the cohort floor are the pack's own (what the service runs); the raw floor is
        // left out so that margin0 alone sets the operating point (at these margins the floor changes nothing).
        const policy = { ...base, combine, cohortSize, sameCutoff, minFaceSize, margin0: 0, slope: 1, rawFloor: -1 };
        // With margin0 = 0 and slope = 1 the similarity is logistic(margin + logit(0.7)): monotonic in the margin.
        const scored = events.map((ev, i) => scorePhotos(ev, fastScorer(ev, policy, cohortCache, i)));
        const logit07 = Math.log(OPERATING_POINT / (1 - OPERATING_POINT));
        let margin0 = -0.2;
        for (const s of scored) {
          let fp = 0;
          for (const p of s.pairs) {
            if (!p.relevant) fp++;
            if (fp > FIT_FALSE_PER_SEARCH * halves.FIT.length) {
              margin0 = Math.max(margin0, Math.log(p.score / (1 - p.score)) - logit07 + 1e-6);
              break;
            }
          }
        }
        const sim0 = 1 / (1 + Math.exp(-(margin0 + logit07)));
        const recall = Math.min(...scored.map((s) => atThreshold(s, sim0, halves.FIT.length).recall));
        rows.push({ policy: { ...policy, margin0: Math.round(margin0 * 1000) / 1000 }, recall });
      }
    }
  }
  rows.sort((a, b) => b.recall - a.recall);
  // The same budget for the old rule with its threshold re-fitted: what the cohorts add beyond a better operating point.
  const rawScored = events.map((ev) => scorePhotos(ev, (q, f) => ev.qf[q]![f]!));
  let rawThreshold = -1;
  for (const s of rawScored) {
    let fp = 0;
    for (const p of s.pairs) if (!p.relevant && ++fp > FIT_FALSE_PER_SEARCH * halves.FIT.length) { rawThreshold = Math.max(rawThreshold, p.score + 1e-6); break; }
  }
  const rawRecall = Math.min(...rawScored.map((s) => atThreshold(s, rawThreshold, halves.FIT.length).recall));
  console.log(`raw cosine re-fitted: threshold ${rawThreshold.toFixed(4)} → worst-size recall ${(rawRecall * 100).toFixed(1)} %`);
  for (const r of rows.slice(0, 10)) {
    const p = r.policy;
    console.log(`${p.combine}  K ${p.cohortSize}  cutoff ${p.sameCutoff}  prior ${p.prior}  minFace ${p.minFaceSize}  margin0 ${p.margin0}  → worst-size recall ${(r.recall * 100).toFixed(1)} %`);
  }
  process.exit(0);
}

const policy = matchPolicyFor(PACK);
const pct = (v: number): string => `${(v * 100).toFixed(1)} %`;
console.log(`\ndecision: cohort K ${policy.cohortSize}, same-person cutoff ${policy.sameCutoff}, prior ${policy.prior}, cohort floor ${policy.cohortFloor}, margin0 ${policy.margin0}, raw floor ${policy.rawFloor}, min face ${policy.minFaceSize} px, |yaw| ≤ ${policy.maxYaw}`);
for (const half of ['TEST', 'FIT'] as const) {
  const queries = halves[half];
  console.log(`\n${half} half: ${queries.length} selfies of ${new Set(queries.map((q) => q.person)).size} people`);
  console.log('| event faces | photos | relevant (query, photo) pairs | old rule (0.7) P / R / false per search | new default (0.7) P / R / false per search | live (0.8) P / R / false | new, P at R 90 % |');
  console.log('|---|---|---|---|---|---|---|');
  for (const size of SIZES) {
    const ev = eventOf(corpus, size, queries);
    const photos = new Set(ev.faces.map((f) => f.photo)).size;
    const old = atThreshold(scorePhotos(ev, legacy(ev)), OPERATING_POINT, queries.length);
    const scored = scorePhotos(ev, scorer(ev, policy));
    const now = atThreshold(scored, OPERATING_POINT, queries.length);
    const live = atThreshold(scored, LIVE_THRESHOLD, queries.length);
    const r90 = atRecall(scored, 0.9, queries.length);
    const fmt = (o: typeof now): string => `${pct(o.precision)} / ${pct(o.recall)} / ${o.falsePerSearch.toFixed(3)}`;
    console.log(`| ${ev.n} | ${photos} | ${scored.relevantTotal} | ${fmt(old)} | ${fmt(now)} | ${fmt(live)} | ${scored.relevantTotal ? pct(r90.precision) : '—'} |`);
  }
}
printTwoSelfies();
printGenuinePairRecall(identityEvents);
console.log(`\n(${((performance.now() - started) / 1000).toFixed(0)} s)`);
