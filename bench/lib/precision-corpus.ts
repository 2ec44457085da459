/**
 * The impostor-heavy dev corpus of `npm run bench:precision` (issue #12), built from every face
 * photo this machine has: faces-dev (13 public figures and 5 group photos), dlib's johns/ (5 ×
 * 11) and faces/ (crowd photos), and @vladmandic/face-api's demo photos.
 *
 * - Every source photo is analysed once (photo mode); each detected face becomes a *crop* with a
 *   person label: an identity (faces-dev folder name or johns name) or a stranger of its own.
 *   Group photos named `a+b` label a and b by their best match to a's and b's identity photos.
 * - Event photos are *collages*: 6–10 crops, each augmented (scale to a 32–150 px face, ±12°
 *   tilt, blur, brightness, mirror, JPEG quality), on a plain background; each collage is
 *   analysed in photo mode like an uploaded photo, and its detections are labelled by IoU with
 *   the placed crops (a detection that matches no crop is an unlabelled stranger).
 * - Queries are the identity photos themselves, analysed in selfie mode (leave-one-out: a query's
 *   own photo does not count as a genuine target; see bench/precision.ts).
 *
 * The corpus is cached in test/.fixtures/precision/ (never committed: it holds real people's
 * face descriptions). Deterministic: one seeded generator decides every augmentation.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import type { DetectedFace, FaceEngine } from '../../src/vision/index.js';
import { cosine } from '../../src/vision/similarity-calibration.js';
import { faceQuality, type FaceQuality } from '../../src/vision/face-quality.js';
import { rectIou } from './face-metrics.js';

/** One face as the service stores it, with its ground-truth person. */
export interface CorpusFace {
  /** Identity name, or `stranger:<n>` (every stranger crop is its own person), or `unknown`. */
  person: string;
  /** The source photo the face comes from (queries of that photo ignore it). */
  source: string;
  /** Event photo (collage) index; -1 for queries. */
  photo: number;
  embedding: number[];
  quality: FaceQuality;
}

export interface Corpus {
  version: number;
  queries: CorpusFace[];
  /** Event faces in collage order; take a prefix of photos for smaller events. */
  faces: CorpusFace[];
  photos: number;
}

const VERSION = 3;

/** Mulberry32: a small seeded generator so every run builds the same corpus. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Crop {
  person: string;
  source: string;
  image: Buffer;
  /** Face box inside the crop. */
  face: { x: number; y: number; width: number; height: number };
}

const isImage = (f: string): boolean => /\.(jpe?g|png)$/i.test(f);

async function listSources(devDir: string, facesDevDir: string, demoDir: string): Promise<{ file: string; people: string[] | null; identity?: string }[]> {
  const out: { file: string; people: string[] | null; identity?: string }[] = [];
  const ids = path.join(facesDevDir, 'identities');
  for (const person of (await readdir(ids)).sort()) {
    for (const f of (await readdir(path.join(ids, person))).sort()) if (isImage(f)) out.push({ file: path.join(ids, person, f), people: null, identity: person });
  }
  const johns = path.join(devDir, 'johns');
  for (const person of (await readdir(johns)).sort()) {
    for (const f of (await readdir(path.join(johns, person))).sort()) if (isImage(f)) out.push({ file: path.join(johns, person, f), people: null, identity: `john:${person}` });
  }
  const groups = path.join(facesDevDir, 'group');
  for (const f of (await readdir(groups)).sort()) {
    if (!isImage(f)) continue;
    // faces-dev's README lists two_people.jpg among photos of people not in identities/, but it
    // shows Obama and Biden (ageitgey's example photo): labelled by what it shows.
    const named = f === 'two_people.jpg' ? ['obama', 'biden'] : f.replace(/\.[^.]+$/, '').split('+');
    out.push({ file: path.join(groups, f), people: named.length > 1 ? named : [] });
  }
  for (const f of (await readdir(path.join(devDir, 'faces'))).sort()) if (isImage(f)) out.push({ file: path.join(devDir, 'faces', f), people: [] });
  for (const f of (await readdir(demoDir)).sort()) if (/^sample\d+\.jpg$/.test(f)) out.push({ file: path.join(demoDir, f), people: [] });
  return out;
}

const largest = (faces: DetectedFace[]): DetectedFace | undefined => [...faces].sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height)[0];

/** Cuts every face of a source photo with a margin, labelled. */
async function cropsOf(engine: FaceEngine, sources: Awaited<ReturnType<typeof listSources>>, log: (s: string) => void): Promise<{ crops: Crop[]; queries: CorpusFace[] }> {
  const crops: Crop[] = [];
  const queries: CorpusFace[] = [];
  const identityEmbeddings = new Map<string, Float32Array[]>();
  let strangers = 0;
  for (const [i, src] of sources.entries()) {
    const bytes = await readFile(src.file);
    const rotated = await sharp(bytes).rotate().toBuffer();
    const meta = await sharp(rotated).metadata();
    const analysis = await engine.analyze(bytes, { mode: 'photo' });
    log(`source ${i + 1}/${sources.length} ${path.basename(src.file)}: ${analysis.faces.length} faces`);
    const labels: string[] = analysis.faces.map(() => 'unknown');
    if (src.identity) {
      const main = largest(analysis.faces);
      if (main) labels[analysis.faces.indexOf(main)] = src.identity;
      const q = await engine.analyze(bytes, { mode: 'selfie' });
      const qf = largest(q.faces);
      if (qf) {
        queries.push({ person: src.identity, source: src.file, photo: -1, embedding: [...qf.embedding], quality: faceQuality(qf, q.width, q.height) });
        identityEmbeddings.set(src.identity, [...(identityEmbeddings.get(src.identity) ?? []), qf.embedding]);
      }
    } else {
      // Named people of a group photo: each takes its best-matching face; the rest are strangers.
      for (const name of src.people ?? []) {
        const refs = identityEmbeddings.get(name);
        if (!refs) continue;
        let best = -1, bestSim = -1;
        analysis.faces.forEach((f, k) => {
          if (labels[k] !== 'unknown') return;
          const s = Math.max(...refs.map((r) => cosine(r, f.embedding)));
          if (s > bestSim) { bestSim = s; best = k; }
        });
        if (best >= 0) labels[best] = name;
      }
      labels.forEach((l, k) => { if (l === 'unknown') labels[k] = `stranger:${strangers++}`; });
    }
    for (const [k, f] of analysis.faces.entries()) {
      if (labels[k] === 'unknown') continue; // a second face in an identity photo: unknown person
      const m = 0.6;
      const left = Math.max(0, Math.round(f.box.x - m * f.box.width));
      const top = Math.max(0, Math.round(f.box.y - m * f.box.height));
      const right = Math.min(meta.width!, Math.round(f.box.x + (1 + m) * f.box.width));
      const bottom = Math.min(meta.height!, Math.round(f.box.y + (1 + m) * f.box.height));
      const image = await sharp(rotated).extract({ left, top, width: right - left, height: bottom - top }).toBuffer();
      crops.push({ person: labels[k]!, source: src.file, image, face: { x: f.box.x - left, y: f.box.y - top, width: f.box.width, height: f.box.height } });
    }
  }
  return { crops, queries };
}

/**
 * One collage: crops scaled so their faces are 32–150 px, augmented, laid out in a grid on a
 * plain background. Returns the image and the placed face boxes.
 */
async function collage(crops: Crop[], rnd: () => number): Promise<{ image: Buffer; placed: { person: string; source: string; box: { x: number; y: number; width: number; height: number } }[] }> {
  const cell = 260;
  const cols = Math.ceil(Math.sqrt(crops.length * 1.5));
  const rows = Math.ceil(crops.length / cols);
  const width = cols * cell, height = rows * cell;
  const placed: { person: string; source: string; box: { x: number; y: number; width: number; height: number } }[] = [];
  const layers: OverlayOptions[] = [];
  for (const [i, c] of crops.entries()) {
    const faceSide = 32 + Math.round(Math.pow(rnd(), 1.5) * 118);
    const scale = faceSide / c.face.width;
    const w = Math.max(8, Math.round((await sharp(c.image).metadata()).width! * scale));
    const maxSide = cell - 10;
    const fit = Math.min(1, maxSide / Math.max(w, Math.round(w * 1.3)));
    let img = sharp(c.image).resize(Math.max(8, Math.round(w * fit)));
    const tilt = (rnd() - 0.5) * 24;
    if (rnd() < 0.5) img = img.flop();
    img = img.modulate({ brightness: 0.7 + rnd() * 0.6 });
    const blurred = rnd() < 0.3;
    let buf = await img.toBuffer();
    if (blurred) buf = await sharp(buf).blur(0.5 + rnd()).toBuffer();
    buf = await sharp(buf).rotate(tilt, { background: '#8a8580' }).jpeg({ quality: 55 + Math.round(rnd() * 40) }).toBuffer();
    const meta = await sharp(buf).metadata();
    const bw = Math.min(meta.width!, cell), bh = Math.min(meta.height!, cell);
    if (bw !== meta.width || bh !== meta.height) buf = await sharp(buf).extract({ left: 0, top: 0, width: bw, height: bh }).toBuffer();
    const left = (i % cols) * cell + Math.floor((cell - bw) / 2);
    const top = Math.floor(i / cols) * cell + Math.floor((cell - bh) / 2);
    layers.push({ input: buf, left, top });
    // The face's centre moves with the rotation about the crop's centre; its size is scale·fit.
    const s = scale * fit;
    const fw = c.face.width * s, fh = c.face.height * s;
    const ow = (await sharp(c.image).metadata()).width! * s, oh = (await sharp(c.image).metadata()).height! * s;
    let cx = (c.face.x + c.face.width / 2) * s - ow / 2, cy = (c.face.y + c.face.height / 2) * s - oh / 2;
    const a = (tilt * Math.PI) / 180;
    [cx, cy] = [cx * Math.cos(a) - cy * Math.sin(a), cx * Math.sin(a) + cy * Math.cos(a)];
    placed.push({ person: c.person, source: c.source, box: { x: left + meta.width! / 2 + cx - fw / 2, y: top + meta.height! / 2 + cy - fh / 2, width: fw, height: fh } });
  }
  const image = await sharp({ create: { width, height, channels: 3, background: { r: 138, g: 133, b: 128 } } }).composite(layers).jpeg({ quality: 90 }).toBuffer();
  return { image, placed };
}

/**
 * Builds (or loads from cache) the corpus: `targetFaces` event faces in collages. Identity crops
 * appear `identityRepeats` times on average (johns more often than faces-dev people: a frequently
 * photographed person must stay findable); strangers fill the rest.
 */
export async function loadPrecisionCorpus(opts: { engine: FaceEngine; cacheDir: string; devDir: string; facesDevDir: string; demoDir: string; targetFaces: number; log: (s: string) => void }): Promise<Corpus> {
  const cacheFile = path.join(opts.cacheDir, `corpus-v${VERSION}-${opts.targetFaces}.json`);
  try {
    const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as Corpus;
    if (cached.version === VERSION) return cached;
  } catch {
    /* build it */
  }
  const sources = await listSources(opts.devDir, opts.facesDevDir, opts.demoDir);
  const { crops, queries } = await cropsOf(opts.engine, sources, opts.log);
  const rnd = seeded(20261201);
  const identity = crops.filter((c) => !c.person.startsWith('stranger:'));
  const strangers = crops.filter((c) => c.person.startsWith('stranger:'));
  // Identity appearances: johns 3× per photo (33 per person: the "bride"), faces-dev 3× per photo.
  const pool: Crop[] = [];
  for (const c of identity) for (let r = 0; r < 3; r++) pool.push(c);
  while (pool.length < opts.targetFaces * 1.03) pool.push(strangers[Math.floor(rnd() * strangers.length)]!);
  // Shuffle so every prefix of collages (the smaller events) mixes identities and strangers alike.
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  const faces: CorpusFace[] = [];
  let photo = 0;
  for (let start = 0; start < pool.length && faces.length < opts.targetFaces; photo++) {
    const n = 6 + Math.floor(rnd() * 5);
    const { image, placed } = await collage(pool.slice(start, start + n), rnd);
    start += n;
    const analysis = await opts.engine.analyze(image, { mode: 'photo', minFaceSize: 28 });
    for (const f of analysis.faces) {
      let best = -1, bestIou = 0.3;
      placed.forEach((p, k) => { const v = rectIou(p.box, f.box); if (v > bestIou) { bestIou = v; best = k; } });
      const truth = best >= 0 ? placed[best]! : { person: 'unknown', source: '' };
      faces.push({ person: truth.person, source: truth.source, photo, embedding: [...f.embedding], quality: faceQuality(f, analysis.width, analysis.height) });
    }
    if (photo % 20 === 0) opts.log(`collage ${photo}: ${faces.length} faces`);
  }
  const corpus: Corpus = { version: VERSION, queries, faces, photos: photo };
  await mkdir(opts.cacheDir, { recursive: true });
  await writeFile(cacheFile, JSON.stringify(corpus));
  return corpus;
}
