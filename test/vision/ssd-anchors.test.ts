import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { buildSsdGraph, SSD_SELFIE_INPUT_SIZE, ssdAnchors } from '../../src/vision/faceapi-graphs.js';
import { loadFaceApiWeights } from '../../src/vision/faceapi-weights.js';
import { decodeImage } from '../../src/vision/image-decoder.js';
import { faceApiSsdAnchors, generateSsdAnchors, ssdAnchorCount, ssdFeatureMapSizes, ssdLowestLayerAnchorsPx } from '../../src/vision/ssd-anchors.js';
import { SELFIE_BIG_FACE_SHRINK, SsdDetector } from '../../src/vision/ssd-detector.js';
import { loadJohns } from '../../bench/lib/face-metrics.js';
import { devDataDir } from './fixtures.js';

describe('SSD anchors (TF-OD ssd_anchor_generator)', () => {
  it('regenerates face-api\'s stored 512 anchors', async () => {
    const stored = ssdAnchors(await loadFaceApiWeights('ssd_mobilenetv1_model'));
    const ours = generateSsdAnchors(512);
    assert.equal(ours.length, stored.length);
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - stored[i]!));
    console.log(`anchors 512: ${ours.length / 4}, max |Δ| = ${worst.toExponential(2)}`);
    assert.ok(worst < 1e-6, `anchors differ by ${worst}`);
    assert.deepEqual(faceApiSsdAnchors(512), ours);
  });

  it('lays out other input sizes like the graph does', () => {
    assert.deepEqual(ssdFeatureMapSizes(512), [32, 16, 8, 4, 2, 1]);
    assert.deepEqual(ssdFeatureMapSizes(256), [16, 8, 4, 2, 1, 1]);
    assert.deepEqual(ssdFeatureMapSizes(320), [20, 10, 5, 3, 2, 1]);
    assert.equal(ssdAnchorCount(512), 5118);
    assert.equal(ssdAnchorCount(256), 1284);
    const a = faceApiSsdAnchors(256);
    assert.equal(a.length, 1284 * 4);
    // Same pixel sizes as at 512: the first anchor is 0.1 × 512 px wide, i.e. 0.2 of a 256 input.
    assert.ok(Math.abs(a[3]! - a[1]! - 0.2) < 1e-6);
    // Centres follow the 16×16 grid of the lowest layer.
    assert.ok(Math.abs((a[1]! + a[3]!) / 2 - 1 / 32) < 1e-6);
  });

  it('lays out the lowest layer alone for any tile, in pixels', () => {
    // At 512×512: the first 32×32×3 of face-api's anchors, × 512.
    const stored = faceApiSsdAnchors(512);
    const lowest = ssdLowestLayerAnchorsPx(512, 512);
    assert.equal(lowest.length, 32 * 32 * 3 * 4);
    let worst = 0;
    for (let i = 0; i < lowest.length; i++) worst = Math.max(worst, Math.abs(lowest[i]! - stored[i]! * 512));
    assert.ok(worst < 1e-3, `lowest-layer anchors differ by ${worst} px`);
    // A 64×96 tile: 4 rows × 6 columns × 3 boxes, row-major, centres on the 16 px grid.
    const a = ssdLowestLayerAnchorsPx(64, 96);
    assert.equal(a.length, 4 * 6 * 3 * 4);
    const centre = (k: number): [number, number] => [Math.round((a[k * 4 + 1]! + a[k * 4 + 3]!) * 500) / 1000, Math.round((a[k * 4]! + a[k * 4 + 2]!) * 500) / 1000];
    assert.deepEqual(centre(0), [8, 8]);
    assert.deepEqual(centre(3), [24, 8]);
    assert.deepEqual(centre(6 * 3), [8, 24]);
    assert.throws(() => ssdLowestLayerAnchorsPx(100, 96), RangeError);
  });

  it('the 256 px detector finds a selfie face where the 512 px one does', async () => {
    const w = await loadFaceApiWeights('ssd_mobilenetv1_model');
    const so = { logSeverityLevel: 3 as const };
    const small = await ort.InferenceSession.create(buildSsdGraph(w, SSD_SELFIE_INPUT_SIZE), so);
    const big = await ort.InferenceSession.create(buildSsdGraph(w), so);
    try {
      const outs = small.outputNames;
      assert.deepEqual([...outs].sort(), ['box_encodings', 'scores']);
      const d256 = new SsdDetector({ session: small, size: SSD_SELFIE_INPUT_SIZE, int8: false }, undefined, SELFIE_BIG_FACE_SHRINK);
      const d512 = new SsdDetector({ session: big, size: 512, int8: false });
      const [first] = await loadJohns(await devDataDir());
      const face = await sharp(await readFile(first!.file)).resize(560, 560).toBuffer();
      const selfie = await sharp({ create: { width: 720, height: 900, channels: 3, background: '#c8beb4' } })
        .composite([{ input: face, left: 80, top: 170 }])
        .jpeg()
        .toBuffer();
      const img = await decodeImage(selfie);
      const [a] = await d256.detect(img, { bigFaces: 'fallback' });
      const [b] = await d512.detect(img, { bigFaces: 'fallback' });
      assert.ok(a && b);
      const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1), ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
      const inter = Math.max(0, iw) * Math.max(0, ih);
      const iou = inter / ((a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter);
      // Measured 0.86 median over johns; plain normalised anchors (no base_anchor_size) gave ~0.25.
      assert.ok(iou > 0.7, `IoU ${iou}`);
    } finally {
      await Promise.all([small.release(), big.release()]);
    }
  });
});
