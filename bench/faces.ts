/**
 * Face engine benchmark: detection and identity quality on dlib's dev data, speed and memory,
 * and the same through @vladmandic/face-api on tfjs-wasm for comparison.
 *   npm run bench:faces [-- --quick] [-- --no-reference]
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import { buildSsdGraph, buildSsdTileGraph } from '../src/vision/faceapi-graphs.js';
import { DEFAULT_MIN_FACE, FaceApiEngine, LEGACY_SELFIE_MAX_SIDE, SELFIE_DECODE_SIDE, type SelfiePath } from '../src/vision/faceapi-pack.js';
import { loadFaceApiWeights } from '../src/vision/faceapi-weights.js';
import { DEFAULT_MAX_TILES, packSsdInput, passUnits, SsdDetector, TILE_MAX_SIDE } from '../src/vision/ssd-detector.js';
import { decodeImage } from '../src/vision/image-decoder.js';
import { boxToRect, crossIdentityMetrics, identityMetrics, loadFaceSet, loadJohns, matchDetections, selfie12mp, smallFaceFrame, type IdentityMetrics } from './lib/face-metrics.js';
import { FaceApiReference } from './lib/faceapi-reference.js';

const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const withReference = !args.has('--no-reference');
const root = path.resolve(import.meta.dirname, '..');
const devDir = path.join(root, 'test/.fixtures/dlib');
const modelDir = path.join(root, 'test/.fixtures/models');
const runs = quick ? 3 : 7;

if (!existsSync(path.join(devDir, 'johns'))) execFileSync('bash', [path.join(root, 'scripts/fetch-dev-data.sh'), devDir], { stdio: 'inherit' });

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (x: number, d = 1): string => `${(x * 100).toFixed(d)} %`;
async function timeIt(fn: () => Promise<unknown>, n = runs): Promise<number> {
  await fn(); // warm-up
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}
function table(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  rows.forEach((r, i) => {
    console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}
const euclidSimilarity = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return -Math.sqrt(s);
};

const engine = await FaceApiEngine.create({ modelDir, intraOpThreads: 2 });

// ---------------------------------------------------------------- detection
const set = await loadFaceSet(devDir);
const detOurs: { tp: number; fn: number; fp: number }[] = [];
for (const im of set) detOurs.push(matchDetections(im.boxes, (await engine.analyze(await readFile(im.file))).faces.map((f) => f.box)));

// ---------------------------------------------------------------- identity
const johns = await loadJohns(devDir);
async function ourIdentity(rotate: number, mode: 'similarity' | 'box'): Promise<IdentityMetrics & { missed: number }> {
  engine.chipMode = mode;
  const items: { person: string; embedding: Float32Array }[] = [];
  let missed = 0;
  for (const [k, j] of johns.entries()) {
    let buf = await readFile(j.file);
    if (rotate) buf = await sharp(buf).rotate((k % 2 ? 1 : -1) * rotate, { background: '#000' }).jpeg({ quality: 95 }).toBuffer();
    const faces = (await engine.analyze(buf, { mode: 'selfie' })).faces;
    if (!faces.length) { missed++; continue; }
    items.push({ person: j.person, embedding: faces.reduce((a, b) => (b.score > a.score ? b : a)).embedding });
  }
  engine.chipMode = 'similarity';
  return { ...identityMetrics(items, (a, b) => engine.similarity(a, b), engine.threshold), missed };
}
const idRows: string[][] = [['pipeline', 'faces', 'rank-1', 'FAR@op', 'TAR@op', 'EER', 'max impostor', 'min genuine']];
const fmtId = (name: string, m: IdentityMetrics & { missed: number }, fmt: (x: number) => string): string[] => [
  name, `${m.n}/${m.n + m.missed}`, pct(m.rank1), pct(m.far, 2), pct(m.tar), pct(m.eer, 2), fmt(m.maxImpostor), fmt(m.minGenuine),
];
const simFmt = (x: number): string => x.toFixed(3);
idRows.push(fmtId('ours, 5-pt similarity chip (sim ≥ 0.7)', await ourIdentity(0, 'similarity'), simFmt));
idRows.push(fmtId('ours, face-api box chip (sim ≥ 0.7)', await ourIdentity(0, 'box'), simFmt));
idRows.push(fmtId('ours, similarity chip, ±20°', await ourIdentity(20, 'similarity'), simFmt));
idRows.push(fmtId('ours, box chip, ±20°', await ourIdentity(20, 'box'), simFmt));
async function referenceIdentity(reference: FaceApiReference): Promise<void> {
  const items: { person: string; embedding: Float32Array }[] = [];
  let missed = 0;
  for (const j of johns) {
    const r = await reference.analyze(await readFile(j.file));
    if (!r.length) { missed++; continue; }
    items.push({ person: j.person, embedding: r.reduce((a, b) => (b.detection.score > a.detection.score ? b : a)).descriptor });
  }
  idRows.push(fmtId('face-api (euclid ≤ 0.6, its default)', { ...identityMetrics(items, euclidSimilarity, -0.6), missed }, (x) => `d=${(-x).toFixed(3)}`));
}

// ---------------------------------------------------------------- selfie path (issue #5)
// Every johns photo as a 720×900 selfie (test/helpers/dev-event.ts) and a 12 MP one (like
// bench/search-e2e.ts), analysed by the legacy and the fast selfie path, against photo-mode
// embeddings of the other johns photos.
async function selfie720(file: string): Promise<Buffer> {
  const face = await sharp(file).resize(560, 560).toBuffer();
  return sharp({ create: { width: 720, height: 900, channels: 3, background: { r: 200, g: 190, b: 180 } } })
    .composite([{ input: face, left: 80, top: 170 }]).jpeg({ quality: 90 }).toBuffer();
}
const selfieKinds = [['720×900', selfie720], ['12 MP', selfie12mp]] as const;
const paths: SelfiePath[] = ['legacy', 'fast'];
const gallery: { id: string; person: string; embedding: Float32Array }[] = [];
for (const j of johns) {
  const faces = (await engine.analyze(await readFile(j.file))).faces;
  if (faces.length) gallery.push({ id: j.file, person: j.person, embedding: faces.reduce((a, b) => (b.score > a.score ? b : a)).embedding });
}
const selfieRows = [['path', 'selfie', 'exactly 1 face', 'rank-1', 'FAR@0.7', 'TAR@0.7', 'mean genuine', 'min genuine', 'max impostor']];
const selfieProbes = new Map<string, { id: string; person: string; embedding: Float32Array }[]>();
const selfieOne = new Map<string, number>();
for (const j of johns) {
  for (const [kind, make] of selfieKinds) {
    const buf = await make(j.file);
    for (const p of paths) {
      engine.selfiePath = p;
      const faces = (await engine.analyze(buf, { mode: 'selfie' })).faces;
      const key = `${p}|${kind}`;
      if (faces.length === 1) selfieOne.set(key, (selfieOne.get(key) ?? 0) + 1);
      if (!faces.length) continue;
      const list = selfieProbes.get(key) ?? [];
      list.push({ id: j.file, person: j.person, embedding: faces.reduce((a, b) => (b.score > a.score ? b : a)).embedding });
      selfieProbes.set(key, list);
    }
  }
}
engine.selfiePath = 'fast';
for (const p of paths) {
  for (const [kind] of selfieKinds) {
    const probes = selfieProbes.get(`${p}|${kind}`) ?? [];
    const m = crossIdentityMetrics(probes, gallery, (a, b) => engine.similarity(a, b), engine.threshold);
    let gsum = 0, gn = 0;
    for (const q of probes) for (const g of gallery) if (g.id !== q.id && g.person === q.person) { gsum += engine.similarity(q.embedding, g.embedding); gn++; }
    selfieRows.push([p, kind, `${selfieOne.get(`${p}|${kind}`) ?? 0}/${johns.length}`, pct(m.rank1), pct(m.far, 2), pct(m.tar, 2), (gsum / Math.max(1, gn)).toFixed(3), m.minGenuine.toFixed(3), m.maxImpostor.toFixed(3)]);
  }
}
// Speed, old vs new interleaved (the machine is shared: medians), split into the stages.
const selfieRuns = quick ? 5 : 15;
const timingJohn = johns[5]!.file;
const selfieSpeedRows = [['selfie', 'path', 'decode', 'detect', 'landmarks+embed', 'sum', 'analyze()']];
for (const [kind, make] of selfieKinds) {
  const buf = await make(timingJohn);
  const t = new Map<SelfiePath, number[][]>(paths.map((p) => [p, [[], [], [], [], []]]));
  for (let i = 0; i < selfieRuns + 2; i++) {
    for (const p of paths) {
      engine.selfiePath = p;
      const t0 = performance.now();
      const img = await decodeImage(buf, { maxSide: p === 'fast' ? SELFIE_DECODE_SIDE : LEGACY_SELFIE_MAX_SIDE });
      const t1 = performance.now();
      const boxes = await (p === 'fast' ? engine.selfieDetector : engine.detector).detect(img, { bigFaces: 'fallback' });
      const t2 = performance.now();
      await engine.embed(img, await engine.landmarks68(img, boxes));
      const t3 = performance.now();
      await engine.analyze(buf, { mode: 'selfie' });
      const t4 = performance.now();
      if (i < 2) continue; // warm-up
      [t1 - t0, t2 - t1, t3 - t2, t3 - t0, t4 - t3].forEach((v, k) => t.get(p)![k]!.push(v));
    }
  }
  for (const p of paths) selfieSpeedRows.push([kind, p, ...t.get(p)!.map((xs) => median(xs).toFixed(1))]);
}
engine.selfiePath = 'fast';

// ---------------------------------------------------------------- speed
const photo12 = await sharp(await readFile(path.join(devDir, 'faces/bald_guys.jpg'))).resize(4000, 3000, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
const selfie = await sharp(await readFile(path.join(devDir, 'faces/Tom_Cruise_avp_2014_4.jpg'))).resize(1080, 1440, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer();
const cases: [string, Buffer, 'photo' | 'selfie'][] = [
  ['12 MP JPEG, photo mode (tiled to 24 px faces)', photo12, 'photo'],
  ['12 MP JPEG, selfie mode (1 pass)', photo12, 'selfie'],
  ['selfie 1080×1440', selfie, 'selfie'],
];
const oursSpeed: { ms: number; faces: number }[] = [];
for (const [, buf, mode] of cases) {
  oursSpeed.push({ ms: await timeIt(() => engine.analyze(buf, { mode })), faces: (await engine.analyze(buf, { mode })).faces.length });
}
// Per face: landmarks + alignment + embedding, batched, on the 12 MP photo's faces.
const img12 = await decodeImage(photo12);
const boxes12 = await engine.detector.detect(img12, { minFaceSize: 24 });
const perFace = (await timeIt(async () => engine.embed(img12, await engine.landmarks68(img12, boxes12)))) / Math.max(1, boxes12.length);

const rssOurs = process.resourceUsage().maxRSS / 1024;

// Small faces: every dlib group photo shrunk so its median face is 24 px wide, in a 6000×4000 frame.
const { jpeg: frame, truth: smallTruth } = await smallFaceFrame(set);
const smallRows = [[`6000×4000 frame, ${smallTruth.length} faces ≈ 24 px`, 'work (512² units)', 'recall', 'FP', 'ms']];
const planUnits = (maxTiles: number): string =>
  engine.detector.plan(6000, 4000, { minFaceSize: 24, maxTiles }).reduce((n, p) => n + passUnits(p), 0).toFixed(0);
for (const maxTiles of quick ? [48, DEFAULT_MAX_TILES] : [48, 150, DEFAULT_MAX_TILES, 600]) {
  const t0 = performance.now();
  const res = await engine.analyze(frame, { maxTiles });
  const ms = performance.now() - t0;
  const m = matchDetections(smallTruth, res.faces.map((f) => f.box));
  smallRows.push([`maxTiles ${maxTiles}${maxTiles === DEFAULT_MAX_TILES ? ' (default)' : ''}`, planUnits(maxTiles), pct(m.tp / (m.tp + m.fn)), String(m.fp), ms.toFixed(0)]);
}
const rssSmall = process.resourceUsage().maxRSS / 1024;

// ---------------------------------------------------------------- detector precision
// The engine's int8 SSD builds against the float graphs (which match face-api to ~1e-6), on the
// same photos and pyramid: recall on faces/, and ms per tile of each input size.
const ssdWeights = await loadFaceApiWeights('ssd_mobilenetv1_model');
const precisionRows = [['SSD build', 'recall', 'FP / image', 'ms / 512² (whole SSD)', `ms / ${TILE_MAX_SIDE}² tile (tile build)`, '24 px frame: recall', 'ms']];
for (const int8 of [false, true]) {
  const so = { intraOpNumThreads: 2, graphOptimizationLevel: 'all' as const, logSeverityLevel: 3 as const };
  const square = await ort.InferenceSession.create(buildSsdGraph(ssdWeights, 512, int8), so);
  const tileSession = await ort.InferenceSession.create(buildSsdTileGraph(ssdWeights, int8), so);
  const det = new SsdDetector({ session: square, size: 512, int8 }, { session: tileSession, int8 });
  const t = { tp: 0, fn: 0, fp: 0 };
  for (const im of set) {
    const m = matchDetections(im.boxes, (await det.detect(await decodeImage(await readFile(im.file)), { minFaceSize: DEFAULT_MIN_FACE })).map(boxToRect));
    t.tp += m.tp; t.fn += m.fn; t.fp += m.fp;
  }
  const grey = { data: Buffer.alloc(TILE_MAX_SIDE * TILE_MAX_SIDE * 3, 90), width: TILE_MAX_SIDE, height: TILE_MAX_SIDE };
  const perTile = async (side: number, tile: boolean): Promise<number> => {
    const input = packSsdInput(grey, 0, 0, side, side, int8);
    return timeIt(() => det.run(input, tile ? { width: side, height: side } : undefined), quick ? 5 : 15);
  };
  const frameImg = await decodeImage(frame);
  const frameOpts = { minFaceSize: DEFAULT_MIN_FACE };
  const frameMs = await timeIt(() => det.detect(frameImg, frameOpts), quick ? 1 : 3);
  const fm = matchDetections(smallTruth, (await det.detect(frameImg, frameOpts)).map(boxToRect));
  precisionRows.push([
    int8 ? 'int8 (engine)' : 'float32', pct(t.tp / (t.tp + t.fn)), (t.fp / set.length).toFixed(2), (await perTile(512, false)).toFixed(1), (await perTile(TILE_MAX_SIDE, true)).toFixed(1),
    pct(fm.tp / (fm.tp + fm.fn)), frameMs.toFixed(0),
  ]);
  await Promise.all([square.release(), tileSession.release()]);
}

// ---------------------------------------------------------------- face-api reference
const detRows = [['image', 'faces', 'ours TP', 'ours FP', 'face-api TP', 'face-api FP']];
const speedRows = [['case', 'ours ms', 'face-api ms', 'speed-up', 'faces (ours / face-api)']];
const tot = { tp: 0, fn: 0, fp: 0, rtp: 0, rfn: 0, rfp: 0 };
const reference = withReference ? await FaceApiReference.create() : undefined;
for (const [k, im] of set.entries()) {
  const ours = detOurs[k]!;
  tot.tp += ours.tp; tot.fn += ours.fn; tot.fp += ours.fp;
  let ref = { tp: NaN, fn: NaN, fp: NaN };
  if (reference) {
    ref = matchDetections(im.boxes, (await reference.detect(await readFile(im.file))).map((d) => d.box));
    tot.rtp += ref.tp; tot.rfn += ref.fn; tot.rfp += ref.fp;
  }
  detRows.push([path.basename(im.file), String(ours.tp + ours.fn), String(ours.tp), String(ours.fp), String(ref.tp), String(ref.fp)]);
}
detRows.push(['recall', '', pct(tot.tp / (tot.tp + tot.fn)), '', reference ? pct(tot.rtp / (tot.rtp + tot.rfn)) : '-', '']);
detRows.push(['FP / image', '', '', (tot.fp / set.length).toFixed(2), '', reference ? (tot.rfp / set.length).toFixed(2) : '-']);
if (reference) await referenceIdentity(reference);
for (const [k, [name, buf]] of cases.entries()) {
  const ours = oursSpeed[k]!;
  let ref = NaN, nRef = NaN;
  if (reference) {
    ref = await timeIt(() => reference.analyze(buf), quick ? 2 : 3);
    nRef = (await reference.analyze(buf)).length;
  }
  speedRows.push([name, ours.ms.toFixed(0), reference ? ref.toFixed(0) : '-', reference ? `${(ref / ours.ms).toFixed(1)}×` : '-', `${ours.faces} / ${reference ? nRef : '-'}`]);
}
const smallRef = { ms: NaN, recall: NaN, tileMs: NaN };
if (reference) {
  // face-api's detector on one 512×512 tile: what each tile of a small-face pyramid would cost it.
  const tile = await sharp(photo12).resize(512, 512, { fit: 'cover' }).jpeg({ quality: 95 }).toBuffer();
  smallRef.tileMs = await timeIt(() => reference.detect(tile), quick ? 3 : 7);
  smallRef.ms = await timeIt(() => reference.analyze(frame), 1);
  const m = matchDetections(smallTruth, (await reference.detect(frame)).map((d) => d.box));
  smallRef.recall = m.tp / (m.tp + m.fn);
}
speedRows.push([`per face (landmarks+align+embed, ${boxes12.length} faces)`, perFace.toFixed(1), '', '', '']);

console.log('\n## Detection: dlib faces/ (training.xml + testing.xml), IoU ≥ 0.4\n');
table(detRows);
console.log('\n## Identity: dlib johns/ (5 people × 11), leave-one-out; ±20° = every chip rotated alternately\n');
table(idRows);
console.log('\n## Selfie path: johns as 720×900 and 12 MP selfies vs photo-mode embeddings of the other johns photos\n');
table(selfieRows);
console.log(`\n## Selfie path speed, ms (median of ${selfieRuns}, interleaved; legacy = 1024 px decode + 512 px SSD, fast = 640 px decode + 256 px SSD)\n`);
table(selfieSpeedRows);
console.log('\n## Small faces (synthetic): detector work per photo (FACE_MAX_TILES) vs the smallest faces found\n');
table(smallRows);
console.log(`face-api on the same frame (one 512 pass, its default): ${reference ? `${smallRef.ms.toFixed(0)} ms, recall ${pct(smallRef.recall)}` : '-'}`);
const ourTileMs = precisionRows.at(-1)![3]!;
console.log(`detector on one 512×512 input: ours ${ourTileMs} ms (whole SSD, int8 onnxruntime), face-api ${reference ? smallRef.tileMs.toFixed(1) : '-'} ms (tfjs-wasm, decode and NMS included)`);
console.log('\n## SSD precision: float32 graph vs the int8 builds the engine runs (same pyramid, minFaceSize 24)\n');
table(precisionRows);
console.log(`\n## Speed (median of ${runs}, 2 intra-op threads; decode included)\n`);
table(speedRows);
console.log(`\nPeak RSS, our engine (dev data, 12 MP photos, selfies): ${rssOurs.toFixed(0)} MB; after the 6000×4000 small-face runs: ${rssSmall.toFixed(0)} MB; with face-api loaded too: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
await engine.close();
