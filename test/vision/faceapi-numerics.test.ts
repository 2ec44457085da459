import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { buildLandmarkGraph, buildRecognitionGraph, buildSsdGraph } from '../../src/vision/faceapi-graphs.js';
import { faceApiModelDir, loadFaceApiWeights } from '../../src/vision/faceapi-weights.js';
import { SsdDetector } from '../../src/vision/ssd-detector.js';
import { devDataDir } from './fixtures.js';

// face-api on tfjs-wasm is the reference runtime (devDependency only); typed loosely on purpose.
interface TfTensor {
  dataSync(): Float32Array;
  dispose(): void;
}
interface FaceApiRef {
  tf: {
    setBackend(name: string): Promise<boolean>;
    ready(): Promise<void>;
    tensor4d(data: Float32Array, shape: number[]): TfTensor;
  };
  nets: {
    ssdMobilenetv1: { loadFromDisk(dir: string): Promise<void>; forward(x: TfTensor): Promise<{ boxes: TfTensor[]; scores: TfTensor[] }> };
    faceLandmark68Net: { loadFromDisk(dir: string): Promise<void>; forward(x: TfTensor): Promise<TfTensor> };
    faceRecognitionNet: { loadFromDisk(dir: string): Promise<void>; computeFaceDescriptor(x: TfTensor): Promise<Float32Array> };
  };
}

const require = createRequire(import.meta.url);
let faceapi: FaceApiRef;
const inputs = new Map<number, Float32Array[]>();

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Deterministic inputs: a real photo resized to the net's size, and seeded noise. */
async function netInputs(size: number): Promise<Float32Array[]> {
  const cached = inputs.get(size);
  if (cached) return cached;
  const dev = await devDataDir();
  const photo = await sharp(await readFile(path.join(dev, 'faces/2008_001009.jpg')))
    .resize(size, size, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer();
  const noise = new Float32Array(size * size * 3);
  let s = 12345;
  for (let i = 0; i < noise.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    noise[i] = (s / 2147483648) * 255;
  }
  const list = [Float32Array.from(photo), noise];
  inputs.set(size, list);
  return list;
}

describe('rebuilt face-api networks match face-api (tfjs-wasm)', () => {
  before(async () => {
    faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApiRef;
    await faceapi.tf.setBackend('wasm');
    await faceapi.tf.ready();
    const dir = faceApiModelDir();
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(dir);
    await faceapi.nets.faceLandmark68Net.loadFromDisk(dir);
    await faceapi.nets.faceRecognitionNet.loadFromDisk(dir);
  });

  it('SSD-MobileNetV1: decoded boxes and scores', async () => {
    const w = await loadFaceApiWeights('ssd_mobilenetv1_model');
    const session = await ort.InferenceSession.create(buildSsdGraph(w), { logSeverityLevel: 3 });
    const det = new SsdDetector({ session, size: 512, int8: false });
    let worstScore = 0, worstBox = 0;
    for (const x of await netInputs(512)) {
      const ours = await det.run(x);
      // Ours are in input pixels, face-api's in 0..1 of the input.
      ours.boxes.forEach((v, i) => (ours.boxes[i] = v / 512));
      const ref = await faceapi.nets.ssdMobilenetv1.forward(faceapi.tf.tensor4d(x, [1, 512, 512, 3]));
      worstScore = Math.max(worstScore, maxAbsDiff(ours.scores, ref.scores[0]!.dataSync()));
      // face-api's boxes are (ymin, xmin, ymax, xmax); ours (x1, y1, x2, y2).
      const rb = ref.boxes[0]!.dataSync();
      const swapped = new Float32Array(rb.length);
      for (let i = 0; i < rb.length; i += 4) swapped.set([rb[i + 1]!, rb[i]!, rb[i + 3]!, rb[i + 2]!], i);
      worstBox = Math.max(worstBox, maxAbsDiff(ours.boxes, swapped));
    }
    await session.release();
    console.log(`ssd max |Δscore| = ${worstScore.toExponential(2)}, max |Δbox| = ${worstBox.toExponential(2)}`);
    assert.ok(worstScore < 1e-4, `scores differ by ${worstScore}`);
    assert.ok(worstBox < 1e-4, `boxes differ by ${worstBox}`);
  });

  it('68-point landmark net: raw outputs', async () => {
    const session = await ort.InferenceSession.create(buildLandmarkGraph(await loadFaceApiWeights('face_landmark_68_model')), { logSeverityLevel: 3 });
    let worst = 0;
    for (const x of await netInputs(112)) {
      const ours = await session.run({ input: new ort.Tensor('float32', x, [1, 112, 112, 3]) });
      const ref = await faceapi.nets.faceLandmark68Net.forward(faceapi.tf.tensor4d(x, [1, 112, 112, 3]));
      worst = Math.max(worst, maxAbsDiff(ours.landmarks!.data as Float32Array, ref.dataSync()));
    }
    await session.release();
    console.log(`landmarks max |Δ| = ${worst.toExponential(2)}`);
    assert.ok(worst < 1e-4, `landmarks differ by ${worst}`);
  });

  it('ResNet recogniser: 128-d descriptors', async () => {
    const session = await ort.InferenceSession.create(buildRecognitionGraph(await loadFaceApiWeights('face_recognition_model')), { logSeverityLevel: 3 });
    let worst = 0;
    for (const x of await netInputs(150)) {
      const ours = await session.run({ input: new ort.Tensor('float32', x, [1, 150, 150, 3]) });
      const ref = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(faceapi.tf.tensor4d(x, [1, 150, 150, 3]));
      worst = Math.max(worst, maxAbsDiff(ours.descriptor!.data as Float32Array, ref));
    }
    await session.release();
    console.log(`recogniser max |Δ| = ${worst.toExponential(2)}`);
    assert.ok(worst < 1e-4, `descriptors differ by ${worst}`);
  });
});
