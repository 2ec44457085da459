import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { boxToRect, loadFaceSet, rectIou } from '../../bench/lib/face-metrics.js';
import { buildSsdGraph, buildSsdTileGraph } from '../../src/vision/faceapi-graphs.js';
import { loadFaceApiWeights } from '../../src/vision/faceapi-weights.js';
import { decodeImage } from '../../src/vision/image-decoder.js';
import { packSsdInput, SsdDetector, type SsdNet } from '../../src/vision/ssd-detector.js';
import { devDataDir } from './fixtures.js';

// The engine runs the SSD in int8 (QDQ graphs fused by onnxruntime into integer convolutions, fed
// space-to-depth pixels); these tests hold it to the float graph, which faceapi-numerics.test.ts
// holds to face-api, and the tile build to the whole SSD.
describe('int8 SSD builds', () => {
  const sessions: ort.InferenceSession[] = [];
  let session: (bytes: Uint8Array) => Promise<ort.InferenceSession>;
  let detector: (int8: boolean) => Promise<SsdDetector>;
  before(async () => {
    const w = await loadFaceApiWeights('ssd_mobilenetv1_model');
    session = async (bytes) => {
      const s = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3, intraOpNumThreads: 2 });
      sessions.push(s);
      return s;
    };
    detector = async (int8) => {
      const tile: SsdNet = { session: await session(buildSsdTileGraph(w, int8)), int8 };
      return new SsdDetector({ session: await session(buildSsdGraph(w, 512, int8)), size: 512, int8 }, tile);
    };
  });
  after(() => Promise.all(sessions.map((s) => s.release())));

  it('find the same faces as the float graph on the dlib group photos', async () => {
    const float = await detector(false);
    const int8 = await detector(true);
    let matched = 0, total = 0, worstScore = 0;
    const ious: number[] = [];
    for (const im of await loadFaceSet(await devDataDir())) {
      const img = await decodeImage(await readFile(im.file));
      const opts = { minFaceSize: 24 };
      const a = await float.detect(img, opts);
      const b = await int8.detect(img, opts);
      total += Math.max(a.length, b.length);
      for (const fa of a) {
        const best = b.reduce((m, fb) => {
          const iou = rectIou(boxToRect(fa), boxToRect(fb));
          return iou > m.iou ? { iou, score: fb.score } : m;
        }, { iou: 0, score: 0 });
        if (best.iou < 0.5) continue;
        matched++;
        ious.push(best.iou);
        worstScore = Math.max(worstScore, Math.abs(best.score - fa.score));
      }
    }
    ious.sort((x, y) => x - y);
    const median = ious[Math.floor(ious.length / 2)]!;
    console.log(`int8 vs float: ${matched}/${total} boxes matched, IoU min ${ious[0]!.toFixed(3)} median ${median.toFixed(3)}, worst |Δscore| ${worstScore.toFixed(3)}`);
    // Measured: 43/44 matched, median IoU 0.98; one box of a half-hidden face shifts (IoU 0.6).
    assert.ok(matched >= total - 2, `${matched}/${total} matched`);
    assert.ok(median > 0.9, `median IoU ${median}`);
    assert.ok(worstScore < 0.15, `worst score difference ${worstScore}`);
  });

  it('the tile build gives the whole SSD\'s lowest-layer outputs, at any tile shape', async () => {
    const w = await loadFaceApiWeights('ssd_mobilenetv1_model');
    const whole = new SsdDetector({ session: await session(buildSsdGraph(w, 512, true)), size: 512, int8: true }, { session: await session(buildSsdTileGraph(w, true)), int8: true });
    const lowest = 32 * 32 * 3;
    let compared = 0;
    for (const im of (await loadFaceSet(await devDataDir())).slice(0, 3)) {
      const img = await decodeImage(await readFile(im.file), { maxSide: 512 });
      const input = packSsdInput(img, 0, 0, 512, 512, true);
      const a = await whole.run(input);
      const b = await whole.run(input, { width: 512, height: 512 });
      assert.equal(b.scores.length, lowest);
      // Same int8 arithmetic up to Conv2d_11, so the same numbers.
      for (let j = 0; j < lowest; j++) {
        assert.ok(Math.abs(a.scores[j]! - b.scores[j]!) < 1e-5, `score ${j}: ${a.scores[j]} vs ${b.scores[j]}`);
        for (let k = 0; k < 4; k++) assert.ok(Math.abs(a.boxes[j * 4 + k]! - b.boxes[j * 4 + k]!) < 1e-2);
      }
      // A wider tile holding the same pixels at its left finds the same confident boxes there.
      const wide = await whole.run(packSsdInput(img, 0, 0, 800, 512, true), { width: 800, height: 512 });
      for (let j = 0; j < lowest; j++) {
        if (a.scores[j]! < 0.5) continue;
        const [x1, y1, x2, y2] = a.boxes.subarray(j * 4, j * 4 + 4);
        if (x2! > 400) continue; // away from the 512 tile's right edge, whose padding differs
        const row = Math.floor(j / 3 / 32), col = Math.floor(j / 3) % 32;
        const k = (row * 50 + col) * 3 + (j % 3);
        assert.ok(Math.abs(wide.scores[k]! - a.scores[j]!) < 0.05, `wide tile score ${wide.scores[k]} vs ${a.scores[j]}`);
        assert.ok(Math.abs(wide.boxes[k * 4]! - x1!) < 1 && Math.abs(wide.boxes[k * 4 + 3]! - y2!) < 1 && y1! >= 0);
        compared++;
      }
    }
    assert.ok(compared >= 5, `only ${compared} confident boxes compared`);
  });
});
