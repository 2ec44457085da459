import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';

/** A ground-truth face box from dlib's imglab XML. */
export interface TruthBox {
  x: number;
  y: number;
  width: number;
  height: number;
  ignore: boolean;
}

/** One annotated image of dlib's faces/ set. */
export interface AnnotatedImage {
  file: string;
  boxes: TruthBox[];
}

/** Parses dlib imglab XML (training.xml / testing.xml); tiny regex parser, the format is flat. */
export async function parseDlibXml(xmlPath: string): Promise<AnnotatedImage[]> {
  const xml = await readFile(xmlPath, 'latin1');
  const images: AnnotatedImage[] = [];
  for (const m of xml.matchAll(/<image file='([^']+)'[^>]*>([\s\S]*?)<\/image>/g)) {
    const boxes: TruthBox[] = [];
    for (const b of m[2]!.matchAll(/<box ([^>]*?)\/?>/g)) {
      const attr = (k: string): number => Number(new RegExp(`${k}='(-?\\d+)'`).exec(b[1]!)?.[1] ?? 0);
      boxes.push({ x: attr('left'), y: attr('top'), width: attr('width'), height: attr('height'), ignore: /ignore='1'/.test(b[1]!) });
    }
    images.push({ file: path.join(path.dirname(xmlPath), m[1]!), boxes });
  }
  return images;
}

/** All annotated images of faces/ (training + testing). */
export async function loadFaceSet(devDir: string): Promise<AnnotatedImage[]> {
  const dir = path.join(devDir, 'faces');
  return [...(await parseDlibXml(path.join(dir, 'training.xml'))), ...(await parseDlibXml(path.join(dir, 'testing.xml')))];
}

/** johns/: one folder per person. */
export async function loadJohns(devDir: string): Promise<{ file: string; person: string }[]> {
  const dir = path.join(devDir, 'johns');
  const out: { file: string; person: string }[] = [];
  for (const person of (await readdir(dir)).sort()) {
    for (const f of (await readdir(path.join(dir, person))).sort()) {
      if (/\.(jpe?g|png)$/i.test(f)) out.push({ file: path.join(dir, person, f), person });
    }
  }
  return out;
}

/** A detection in x/y/width/height form. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A detector box (x1, y1, x2, y2) as a rect. */
export function boxToRect(b: { x1: number; y1: number; x2: number; y2: number }): Rect {
  return { x: b.x1, y: b.y1, width: b.x2 - b.x1, height: b.y2 - b.y1 };
}

export function rectIou(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const i = w * h;
  return i / (a.width * a.height + b.width * b.height - i);
}

/** Greedy one-to-one matching at IoU ≥ minIou; ignored truths neither count nor make FPs. */
export function matchDetections(truth: TruthBox[], dets: Rect[], minIou = 0.4): { tp: number; fn: number; fp: number } {
  const used = new Set<number>();
  let tp = 0, fn = 0;
  const pairs: { t: number; d: number; iou: number }[] = [];
  truth.forEach((t, ti) => dets.forEach((d, di) => {
    const v = rectIou(t, d);
    if (v >= minIou) pairs.push({ t: ti, d: di, iou: v });
  }));
  pairs.sort((a, b) => b.iou - a.iou);
  const matchedT = new Set<number>();
  for (const p of pairs) {
    if (matchedT.has(p.t) || used.has(p.d)) continue;
    matchedT.add(p.t);
    used.add(p.d);
  }
  truth.forEach((t, ti) => {
    if (t.ignore) return;
    if (matchedT.has(ti)) tp++;
    else fn++;
  });
  const fp = dets.length - used.size;
  return { tp, fn, fp };
}

/** Identity metrics over embeddings with labels. */
export interface IdentityMetrics {
  n: number;
  rank1: number;
  genuinePairs: number;
  impostorPairs: number;
  /** False accept rate at the threshold (impostor pairs with similarity ≥ threshold). */
  far: number;
  /** True accept rate at the threshold. */
  tar: number;
  /** Equal error rate (FAR = FRR), by sweeping the similarity. */
  eer: number;
  /** Largest impostor and smallest genuine similarity. */
  maxImpostor: number;
  minGenuine: number;
}

export function identityMetrics(
  items: { person: string; embedding: Float32Array }[],
  similarity: (a: Float32Array, b: Float32Array) => number,
  threshold: number,
): IdentityMetrics {
  const n = items.length;
  const sim: number[][] = items.map(() => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) sim[i]![j] = sim[j]![i] = similarity(items[i]!.embedding, items[j]!.embedding);
  let correct = 0;
  const genuine: number[] = [], impostor: number[] = [];
  for (let i = 0; i < n; i++) {
    let best = -1, bestJ = -1;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      if (sim[i]![j]! > best) { best = sim[i]![j]!; bestJ = j; }
      if (j > i) (items[i]!.person === items[j]!.person ? genuine : impostor).push(sim[i]![j]!);
    }
    if (bestJ >= 0 && items[bestJ]!.person === items[i]!.person) correct++;
  }
  const far = impostor.filter((s) => s >= threshold).length / Math.max(1, impostor.length);
  const tar = genuine.filter((s) => s >= threshold).length / Math.max(1, genuine.length);
  const cands = [...genuine, ...impostor].sort((a, b) => a - b);
  let eer = 1, gap = Infinity;
  for (const t of cands) {
    const fa = impostor.filter((s) => s >= t).length / impostor.length;
    const fr = genuine.filter((s) => s < t).length / genuine.length;
    if (Math.abs(fa - fr) < gap) { gap = Math.abs(fa - fr); eer = (fa + fr) / 2; }
  }
  return {
    n, rank1: correct / Math.max(1, n), genuinePairs: genuine.length, impostorPairs: impostor.length,
    far, tar, eer, maxImpostor: Math.max(...impostor), minGenuine: Math.min(...genuine),
  };
}

/**
 * Probe-vs-gallery identity: each probe (e.g. a selfie made from photo `id`) against every gallery
 * item except the one with the same `id` (its own source photo). Rank-1 over the gallery, and
 * TAR/FAR over all probe × gallery pairs at the threshold.
 */
export function crossIdentityMetrics(
  probes: { id: string; person: string; embedding: Float32Array }[],
  gallery: { id: string; person: string; embedding: Float32Array }[],
  similarity: (a: Float32Array, b: Float32Array) => number,
  threshold: number,
): Omit<IdentityMetrics, 'eer'> {
  let correct = 0;
  const genuine: number[] = [], impostor: number[] = [];
  for (const p of probes) {
    let best = -Infinity, bestPerson = '';
    for (const g of gallery) {
      if (g.id === p.id) continue;
      const s = similarity(p.embedding, g.embedding);
      if (s > best) { best = s; bestPerson = g.person; }
      (g.person === p.person ? genuine : impostor).push(s);
    }
    if (bestPerson === p.person) correct++;
  }
  return {
    n: probes.length,
    rank1: correct / Math.max(1, probes.length),
    genuinePairs: genuine.length,
    impostorPairs: impostor.length,
    far: impostor.filter((s) => s >= threshold).length / Math.max(1, impostor.length),
    tar: genuine.filter((s) => s >= threshold).length / Math.max(1, genuine.length),
    maxImpostor: Math.max(...impostor),
    minGenuine: Math.min(...genuine),
  };
}

/**
 * A 12-megapixel selfie like bench/search-e2e.ts sends: the face photo enlarged to 1800 px in a
 * 4000×3000 frame.
 */
export async function selfie12mp(faceFile: string): Promise<Buffer> {
  const face = await sharp(faceFile).resize(1800, 1800).toBuffer();
  return sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#b4a89c' } })
    .composite([{ input: face, left: 1100, top: 600 }])
    .jpeg({ quality: 90 })
    .toBuffer();
}

/**
 * Every dlib group photo shrunk so its median face is `faceWidth` px wide, pasted into a
 * 6000×4000 frame (43 faces of ~18..34 px at 24): a 24 MP event photo full of tiny faces.
 */
export async function smallFaceFrame(set: AnnotatedImage[], faceWidth = 24): Promise<{ jpeg: Buffer; truth: TruthBox[] }> {
  const composites: OverlayOptions[] = [];
  const truth: TruthBox[] = [];
  for (const [k, im] of set.entries()) {
    const widths = im.boxes.map((b) => b.width).sort((a, b) => a - b);
    const shrink = faceWidth / widths[Math.floor(widths.length / 2)]!;
    const left = 400 + (k % 3) * 1900, top = 300 + Math.floor(k / 3) * 1300;
    const meta = await sharp(im.file).metadata();
    composites.push({ input: await sharp(im.file).resize(Math.round(meta.width! * shrink)).toBuffer(), left, top });
    for (const b of im.boxes) truth.push({ x: left + b.x * shrink, y: top + b.y * shrink, width: b.width * shrink, height: b.height * shrink, ignore: b.ignore });
  }
  const jpeg = await sharp({ create: { width: 6000, height: 4000, channels: 3, background: '#7a8a7a' } }).composite(composites).jpeg({ quality: 92 }).toBuffer();
  return { jpeg, truth };
}
