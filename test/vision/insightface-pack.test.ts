import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { ARCFACE_TEMPLATE_112, arcfaceChip, arcfaceInput } from '../../src/vision/arcface-preprocess.js';
import { createFaceEngine, installModelPack, listModelPacks, ModelPackError } from '../../src/vision/index.js';
import { groupScrfdOutputs } from '../../src/vision/insightface-pack.js';
import { GraphBuilder, int, ints } from '../../src/vision/onnx-graph-builder.js';
import { decodeScrfd, type ScrfdLevel } from '../../src/vision/scrfd-decoder.js';

const INPUT = 64;

/** Empty SCRFD levels for a 64×64 input: grids 8×8, 4×4, 2×2 with 2 anchors each. */
function emptyLevels(): ScrfdLevel[] {
  return [8, 16, 32].map((stride) => {
    const n = (INPUT / stride) ** 2 * 2;
    return { stride, scores: new Float32Array(n), bbox: new Float32Array(n * 4), kps: new Float32Array(n * 10) };
  });
}

/** A stand-in SCRFD graph of the right interface (pooling + 1×1 convs), for install/engine plumbing. */
function fakeScrfd(): Uint8Array {
  const g = new GraphBuilder('fake_scrfd');
  const x = g.input('input.1', [1, 3, INPUT, INPUT]);
  const heads: Record<number, string[]> = { 1: [], 4: [], 10: [] };
  for (const stride of [8, 16, 32]) {
    const pooled = g.op('AveragePool', [x], { kernel_shape: ints([stride, stride]), strides: ints([stride, stride]) });
    for (const k of [1, 4, 10]) {
      const w = new Float32Array(2 * k * 3).fill(0.01);
      let y = g.op('Conv', [pooled, g.floatConst(w, [2 * k, 3, 1, 1]), g.floatConst(new Float32Array(2 * k).fill(k === 1 ? -4 : 0.5), [2 * k])], { kernel_shape: ints([1, 1]), group: int(1) });
      y = g.op('Reshape', [g.op('Transpose', [y], { perm: ints([0, 2, 3, 1]) }), g.int64Const([1, -1, k])]);
      if (k === 1) y = g.op('Sigmoid', [y]);
      heads[k]!.push(y);
    }
  }
  [1, 4, 10].forEach((k) => heads[k]!.forEach((y, i) => g.output(y, `out_${k}_${i}`, [1, (INPUT / [8, 16, 32][i]!) ** 2 * 2, k])));
  return g.toBytes();
}

/** A stand-in ArcFace: [N,3,112,112] → [N,512]. */
function fakeArcface(outDims = 512): Uint8Array {
  const g = new GraphBuilder('fake_arcface');
  const x = g.input('data', ['N', 3, 112, 112]);
  const flat = g.op('Flatten', [g.op('GlobalAveragePool', [x])], { axis: int(1) });
  const w = Float32Array.from({ length: 3 * outDims }, (_, i) => Math.sin(i));
  g.output(g.op('MatMul', [flat, g.floatConst(w, [3, outDims])]), 'fc1', ['N', outDims]);
  return g.toBytes();
}

describe('SCRFD decoding', () => {
  it('decodes distance boxes and keypoints on the stride grid', () => {
    const levels = emptyLevels();
    const l16 = levels[1]!;
    // Location (gx 2, gy 1) on the stride-16 grid, second anchor → index (1·4 + 2)·2 + 1 = 13; centre (32, 16).
    const i = 13;
    l16.scores[i] = 0.9;
    l16.bbox.set([1, 0.5, 1.5, 2], i * 4);
    l16.kps!.set([-0.5, 0, 0.5, 0, 0, 0.5, -0.25, 1, 0.25, 1], i * 10);
    // A weaker duplicate at the neighbouring anchor must be suppressed by NMS.
    l16.scores[i - 1] = 0.6;
    l16.bbox.set([1, 0.5, 1.5, 2], (i - 1) * 4);
    const faces = decodeScrfd(levels, INPUT, INPUT);
    assert.equal(faces.length, 1);
    const f = faces[0]!;
    assert.deepEqual([f.x1, f.y1, f.x2, f.y2], [16, 8, 56, 48]);
    assert.equal(f.score, Math.fround(0.9));
    assert.deepEqual(f.kps, [[24, 16], [40, 16], [32, 24], [28, 32], [36, 32]]);
  });

  it('ignores low scores and checks anchor counts', () => {
    const levels = emptyLevels();
    levels[0]!.scores[5] = 0.3;
    assert.equal(decodeScrfd(levels, INPUT, INPUT).length, 0);
    assert.throws(() => decodeScrfd(levels, 128, 128), RangeError);
  });

  it('groups outputs by role and stride whatever their order', () => {
    const levels = emptyLevels();
    const outputs: Record<string, { dims: number[]; data: Float32Array }> = {};
    levels.reverse().forEach((l, i) => {
      outputs[`k${i}`] = { dims: [1, l.scores.length, 10], data: l.kps! };
      outputs[`s${i}`] = { dims: [l.scores.length, 1], data: l.scores };
      outputs[`b${i}`] = { dims: [1, l.scores.length, 4], data: l.bbox };
    });
    const grouped = groupScrfdOutputs(outputs, INPUT, INPUT).sort((a, b) => a.stride - b.stride);
    assert.deepEqual(grouped.map((l) => l.stride), [8, 16, 32]);
    assert.equal(grouped[0]!.bbox.length, 128 * 4);
  });
});

describe('ArcFace preprocessing', () => {
  it('aligns template keypoints to an identity chip and normalises to [-1, 1]', () => {
    const data = Buffer.alloc(112 * 112 * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 256;
    const chip = arcfaceChip({ data, width: 112, height: 112 }, ARCFACE_TEMPLATE_112);
    assert.ok(chip.equals(data));
    // One 1×1 RGB chip (0, 255, 127) → planar CHW, (x − 127.5) / 127.5.
    const input = arcfaceInput([Buffer.from([0, 255, 127])], 1);
    assert.equal(input.length, 3);
    assert.ok(Math.abs(input[0]! + 1) < 1e-6 && Math.abs(input[1]! - 1) < 1e-6 && Math.abs(input[2]! + 0.5 / 127.5) < 1e-6);
  });

  it('uses insightface\'s arcface_dst template', () => {
    assert.deepEqual(ARCFACE_TEMPLATE_112[0], [38.2946, 51.6963]);
    assert.deepEqual(ARCFACE_TEMPLATE_112[4], [70.7299, 92.2041]);
  });
});

describe('installing the InsightFace pack', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'facepass-insight-'));
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  it('validates, installs and lists user-supplied files, then runs them', async () => {
    const src = path.join(tmp, 'buffalo');
    const modelDir = path.join(tmp, 'models');
    execFileSync('mkdir', ['-p', src]);
    await writeFile(path.join(src, 'det_fake.onnx'), fakeScrfd());
    await writeFile(path.join(src, 'w600k_fake.onnx'), fakeArcface());
    await writeFile(path.join(src, 'README.txt'), 'ignored');
    assert.equal((await listModelPacks(modelDir)).find((p) => p.id === 'insightface-buffalo')?.installed, false);
    const manifest = await installModelPack(src, modelDir);
    assert.equal(manifest.detector, 'det_fake.onnx');
    assert.equal(manifest.recognizer, 'w600k_fake.onnx');
    const packs = await listModelPacks(modelDir);
    assert.equal(packs.find((p) => p.id === 'insightface-buffalo')?.installed, true);
    assert.equal(packs.find((p) => p.id === 'faceapi-resnet128')?.installed, true);

    const engine = await createFaceEngine({ modelDir, packId: 'insightface-buffalo', intraOpThreads: 1 });
    assert.equal(engine.dimensions, 512);
    const img = await sharp({ create: { width: 200, height: 150, channels: 3, background: '#a08070' } }).jpeg().toBuffer();
    const res = await engine.analyze(img);
    assert.equal(res.width, 200);
    for (const f of res.faces) assert.equal(f.embedding.length, 512);
    await engine.close();
  });

  it('rejects files with the wrong interface and missing files', async () => {
    const src = path.join(tmp, 'bad');
    execFileSync('mkdir', ['-p', src]);
    await writeFile(path.join(src, 'det_fake.onnx'), fakeScrfd());
    await writeFile(path.join(src, 'w600k_bad.onnx'), fakeArcface(128));
    await assert.rejects(installModelPack(src, path.join(tmp, 'm2')), (e: unknown) => e instanceof ModelPackError && e.code === 'invalid' && /512/.test(e.message));
    await assert.rejects(installModelPack(path.join(tmp, 'nope'), tmp), (e: unknown) => e instanceof ModelPackError && e.code === 'not_found');
    await writeFile(path.join(src, 'not-a-zip.txt'), 'x');
    await assert.rejects(installModelPack(path.join(src, 'not-a-zip.txt'), tmp), ModelPackError);
  });

  it('installs from a zip when unzip is available', async (t) => {
    try {
      execFileSync('zip', ['-v'], { stdio: 'ignore' });
    } catch {
      t.skip('zip not installed (needed only to build the test archive)');
      return;
    }
    const src = path.join(tmp, 'zipsrc');
    execFileSync('mkdir', ['-p', path.join(src, 'buffalo_l')]);
    await writeFile(path.join(src, 'buffalo_l/det_10g.onnx'), fakeScrfd());
    await writeFile(path.join(src, 'buffalo_l/w600k_r50.onnx'), fakeArcface());
    execFileSync('zip', ['-qr', path.join(tmp, 'buffalo_l.zip'), 'buffalo_l'], { cwd: src });
    const manifest = await installModelPack(path.join(tmp, 'buffalo_l.zip'), path.join(tmp, 'm3'));
    assert.equal(manifest.recognizer, 'w600k_r50.onnx');
  });
});
