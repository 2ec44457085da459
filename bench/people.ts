/**
 * `npm run bench:people` (issue #15): how well the per-event person clustering groups real
 * faces, and how fast it is.
 *
 * Events (each source photo is one event photo, analysed in photo mode as uploads are):
 * - johns: dlib's johns/ (5 people × 11 photos); truth = each photo's largest face.
 * - faces-dev: its identities (largest face) and group photos (`a+b`: a and b take their best
 *   match to a's and b's identity photos; two_people.jpg is Obama and Biden; multiface.jpg:
 *   unknown, left out of the scores but clustered).
 * - mixed: both, plus dlib's faces/ crowd photos (every crowd face a stranger of its own).
 * Cohorts are computed by the clustering against the whole event (as the job does). Scores are pairwise
 * precision and recall over faces with a known identity (unassigned faces pair with nobody).
 *
 * `--grid` prints the knob grid the defaults were chosen from. Timing: 10,000 faces made from
 * the real embeddings (see `synthetic`), clustered from scratch, then 100 new faces added.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createFaceEngine, type DetectedFace } from '../src/vision/index.js';
import { faceQuality } from '../src/vision/face-quality.js';
import { matchPolicyFor } from '../src/services/match-decision.js';
import { computeFaceCohorts } from '../src/services/face-cohort.service.js';
import { forEachDotRow } from '../src/vision/similarity-matrix.js';
import { clusterFaces, cohortOfRow, DEFAULT_CLUSTERING, pairwiseScores, type ClusterFace, type ClusteringOptions } from '../src/services/person-clustering.js';
import { devDataDir, testModelDir } from '../test/vision/fixtures.js';
import { seeded } from './lib/precision-corpus.js';

const facesDev = path.resolve(process.env.FACES_DEV_DIR ?? '/work/wt/shared/data/faces-dev');
const cacheFile = path.resolve('test/.fixtures/people/faces.json');
const grid = process.argv.includes('--grid');

interface BenchFace {
  set: 'johns' | 'faces-dev' | 'crowd';
  source: string;
  truth: string | null;
  embedding: number[];
  size: number;
  yaw: number;
  score: number;
}

const largest = (faces: DetectedFace[]): DetectedFace | undefined => faces.reduce<DetectedFace | undefined>((b, f) => (!b || f.box.width * f.box.height > b.box.width * b.box.height ? f : b), undefined);
const isImage = (f: string): boolean => /\.(jpe?g|png)$/i.test(f);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

async function buildFaces(): Promise<{ packId: string; faces: BenchFace[] }> {
  try {
    return JSON.parse(await readFile(cacheFile, 'utf8')) as { packId: string; faces: BenchFace[] };
  } catch {
    /* built below */
  }
  const engine = await createFaceEngine({ modelDir: testModelDir(), intraOpThreads: 2 });
  const dev = await devDataDir();
  const out: BenchFace[] = [];
  const add = (set: BenchFace['set'], source: string, faces: DetectedFace[], truth: (f: DetectedFace, k: number) => string | null): void => {
    faces.forEach((f, k) => {
      const q = faceQuality(f);
      out.push({ set, source, truth: truth(f, k), embedding: [...f.embedding], size: q.size, yaw: q.yaw, score: q.score });
    });
  };
  const identityOf = (set: BenchFace['set'], name: string, faces: DetectedFace[]) => {
    const main = largest(faces);
    return (f: DetectedFace): string | null => (f === main ? `${set}:${name}` : null);
  };
  for (const person of (await readdir(path.join(dev, 'johns'))).sort()) {
    for (const file of (await readdir(path.join(dev, 'johns', person))).sort().filter(isImage)) {
      const p = path.join(dev, 'johns', person, file);
      const { faces } = await engine.analyze(await readFile(p), { mode: 'photo' });
      add('johns', p, faces, identityOf('johns', person, faces));
    }
  }
  const refs = new Map<string, Float32Array[]>();
  for (const person of (await readdir(path.join(facesDev, 'identities'))).sort()) {
    for (const file of (await readdir(path.join(facesDev, 'identities', person))).sort().filter(isImage)) {
      const p = path.join(facesDev, 'identities', person, file);
      const { faces } = await engine.analyze(await readFile(p), { mode: 'photo' });
      add('faces-dev', p, faces, identityOf('faces-dev', person, faces));
      const main = largest(faces);
      if (main) refs.set(person, [...(refs.get(person) ?? []), main.embedding]);
    }
  }
  for (const file of (await readdir(path.join(facesDev, 'group'))).sort().filter(isImage)) {
    const p = path.join(facesDev, 'group', file);
    const { faces } = await engine.analyze(await readFile(p), { mode: 'photo' });
    const stem = file.replace(/\.[^.]+$/, '');
    const people = stem === 'two_people' ? ['obama', 'biden'] : stem.includes('+') ? stem.split('+') : [];
    const labels = new Map<DetectedFace, string>();
    for (const name of people) {
      const r = refs.get(name);
      if (!r) continue;
      let best: DetectedFace | undefined, bestSim = -1;
      for (const f of faces) {
        if (labels.has(f)) continue;
        const s = Math.max(...r.map((v) => dot(v, f.embedding)));
        if (s > bestSim) [best, bestSim] = [f, s];
      }
      if (best) labels.set(best, `faces-dev:${name}`);
    }
    add('faces-dev', p, faces, (f) => labels.get(f) ?? null);
  }
  let stranger = 0;
  for (const file of (await readdir(path.join(dev, 'faces'))).sort().filter(isImage)) {
    const p = path.join(dev, 'faces', file);
    const { faces } = await engine.analyze(await readFile(p), { mode: 'photo' });
    add('crowd', p, faces, () => `stranger:${stranger++}`);
  }
  const packId = engine.packId;
  await engine.close();
  await mkdir(path.dirname(cacheFile), { recursive: true });
  await writeFile(cacheFile, JSON.stringify({ packId, faces: out }));
  return { packId, faces: out };
}

const { packId, faces: all } = await buildFaces();
const policy = matchPolicyFor(packId);

/** One event's faces ready to cluster (cohorts as the refresh job computes them), with the truth. */
function eventOf(faces: BenchFace[]): { input: ClusterFace[]; truth: (string | null)[] } {
  const photoIds = new Map<string, number>();
  const photos = faces.map((f) => photoIds.get(f.source) ?? (photoIds.set(f.source, photoIds.size), photoIds.size - 1));
  return {
    // Cohorts are computed by the clustering itself against the whole event, as the job does.
    input: faces.map((f, i) => ({ vector: Float32Array.from(f.embedding), photo: photos[i]!, cohort: null, size: f.size, yaw: f.yaw, score: f.score })),
    truth: faces.map((f) => f.truth),
  };
}

const events = {
  johns: eventOf(all.filter((f) => f.set === 'johns')),
  'faces-dev': eventOf(all.filter((f) => f.set === 'faces-dev')),
  mixed: eventOf(all),
};

async function score(options: ClusteringOptions) {
  const out = [];
  for (const [name, ev] of Object.entries(events)) {
    const { labels, groups } = await clusterFaces(ev.input, policy, options, [], true);
    const s = pairwiseScores(labels, ev.truth);
    const known = ev.truth.filter((t) => t !== null).length;
    const unassigned = ev.truth.filter((t, i) => t !== null && labels[i] === -1).length;
    out.push({ name, ...s, faces: ev.input.length, known, persons: groups.filter((g) => g.length > 0).length, unassigned });
  }
  return out;
}

// The clustering's one-pass cohorts equal the refresh job's (computeFaceCohorts) on the mixed event.
{
  const ev = events.mixed.input;
  const reference = computeFaceCohorts(ev.map((f) => f.vector), ev.map((f) => f.photo), policy);
  const photoOf = Int32Array.from(ev, (f) => f.photo);
  const flat = new Float32Array(ev.length * ev[0]!.vector.length);
  ev.forEach((f, i) => flat.set(f.vector, i * f.vector.length));
  let worst = 0;
  await forEachDotRow(flat, flat, ev[0]!.vector.length, (i, dots) => {
    worst = Math.max(worst, Math.abs(cohortOfRow(dots, photoOf, ev[i]!.photo, (j) => ev[j]!.vector, policy) - reference[i]!));
  });
  console.log(`cohorts: clustering vs refresh job, largest difference ${worst.toExponential(1)} over ${ev.length} faces`);
  if (worst > 1e-4) throw new Error('the clustering computes cohorts differently from the refresh job');
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
console.log(`bench:people — pack ${packId}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${new Date().toISOString()}`);
console.log(`knobs: ${JSON.stringify(DEFAULT_CLUSTERING)}`);
for (const r of await score(DEFAULT_CLUSTERING)) {
  console.log(
    `${r.name.padEnd(10)} faces ${String(r.faces).padStart(4)} (known ${r.known}), persons ${r.persons}, known faces unassigned ${r.unassigned}: ` +
      `pairwise precision ${pct(r.precision)} (${r.predictedPairs} pairs put together), recall ${pct(r.recall)} (${r.truePairs} true pairs)`,
  );
}

if (grid) {
  console.log('\ngrid (link similarity × weak link similarity): precision/recall per event');
  for (const link of [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95]) {
    for (const weak of [link, 0.9, 0.95]) {
      if (weak < link) continue;
      const rows = await score({ ...DEFAULT_CLUSTERING, linkSimilarity: link, weakLinkSimilarity: weak });
      console.log(`link ${link.toFixed(2)} weak ${weak.toFixed(2)}: ` + rows.map((r) => `${r.name} ${pct(r.precision)}/${pct(r.recall)}`).join('  '));
    }
  }
}

/**
 * 10,000 faces from the real ones: each synthetic person is a real known face pushed away from
 * its origin by noise (σ_id per dimension, renormalised), and each of its faces that person plus
 * smaller noise (σ_face): a spread of persons with 1–40 faces, several faces per photo.
 */
function synthetic(total: number, seed: number): ClusterFace[] {
  const rand = seeded(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const noisy = (v: ArrayLike<number>, sigma: number): Float32Array => {
    const out = Float32Array.from(v, (x) => x + sigma * gauss());
    const norm = Math.hypot(...out);
    return out.map((x) => x / norm);
  };
  const bases = all.filter((f) => f.truth !== null);
  const faces: ClusterFace[] = [];
  const photos = Math.ceil(total / 4);
  while (faces.length < total) {
    const base = noisy(bases[Math.floor(rand() * bases.length)]!.embedding, 0.04);
    const count = 1 + Math.floor(rand() * rand() * 40);
    for (let k = 0; k < count && faces.length < total; k++) {
      faces.push({ vector: noisy(base, 0.012), photo: Math.floor(rand() * photos), cohort: null, size: 40 + Math.floor(rand() * 120), yaw: (rand() - 0.5) * 0.4, score: 0.9 });
    }
  }
  return faces;
}

const big = synthetic(10_100, 15);
const first = big.slice(0, 10_000);
let t = performance.now();
const full = await clusterFaces(first, policy, DEFAULT_CLUSTERING, [], true);
const fullMs = performance.now() - t;
t = performance.now();
const more = await clusterFaces(big, policy, DEFAULT_CLUSTERING, full.groups.filter((g) => g.length > 0), true);
const incMs = performance.now() - t;
console.log(
  `\ntiming (synthetic faces from real embeddings; cohorts of the new faces included; database reads/writes not included): clustering 10,000 faces ${(fullMs / 1000).toFixed(2)} s ` +
    `(${full.groups.filter((g) => g.length).length} persons); adding 100 faces to it ${(incMs / 1000).toFixed(2)} s ` +
    `(${more.groups.filter((g) => g.length).length} persons)`,
);
