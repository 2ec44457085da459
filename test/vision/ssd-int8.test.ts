import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { loadFaceSet, rectIou } from '../../bench/lib/face-metrics.js';
import { buildSsdGraph, ssdAnchors, SSD_TILE_INPUT_SIZE } from '../../src/vision/faceapi-graphs.js';
import { loadFaceApiWeights } from '../../src/vision/faceapi-weights.js';
import { nms, type ScoredBox } from '../../src/vision/box-utils.js';
import { decodeImage } from '../../src/vision/image-decoder.js';
import { faceApiSsdAnchors } from '../../src/vision/ssd-anchors.js';
import { SsdDetector, type SsdNet } from '../../src/vision/ssd-detector.js';
import { devDataDir } from './fixtures.js';

// The engine runs the SSD in int8 (QDQ graphs fused by onnxruntime into integer convolutions);
// these tests hold it to the float graph, which faceapi-numerics.test.ts holds to face-api.
describe('int8 SSD builds', () => {
  const sessions: ort.InferenceSession[] = [];
  let net: (size: number, int8: boolean) => Promise<SsdNet>;
  before(async () => {
    const w = await loadFaceApiWeights('ssd_mobilenetv1_model');
    net = async (size, int8) => {
      const session = await ort.InferenceSession.create(buildSsdGraph(w, size, int8), { logSeverityLevel: 3, intraOpNumThreads: 2 });
      sessions.push(session);
      return { session, size, anchors: size === 512 ? ssdAnchors(w) : faceApiSsdAnchors(size), uint8Input: int8 };
    };
  });
  after(() => Promise.all(sessions.map((s) => s.release())));

  it('find the same faces as the float graph on the dlib group photos', async () => {
    const float = new SsdDetector(await net(512, false), [await net(SSD_TILE_INPUT_SIZE, false)]);
    const int8 = new SsdDetector(await net(512, true), [await net(SSD_TILE_INPUT_SIZE, true)]);
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
          const iou = rectIou(rect(fa), rect(fb));
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

  it('a 1024 tile finds what a 512 tile finds (anchors keep their pixel sizes)', async () => {
    const d512 = new SsdDetector(await net(512, true));
    const n1024 = await net(SSD_TILE_INPUT_SIZE, true);
    const d1024 = new SsdDetector(n1024, [], 2.6);
    // The same pixels at the top-left of a 512 and of a 1024 input square.
    const pixelBoxes = async (det: SsdDetector, netSize: number, img: { data: Buffer; width: number; height: number }): Promise<ScoredBox[]> => {
      const input = new Uint8Array(netSize * netSize * 3);
      for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width * 3; x++) input[y * netSize * 3 + x] = img.data[y * img.width * 3 + x]!;
      const { boxes, scores } = await det.runSquare(input, netSize === 512 ? undefined : n1024);
      const found: ScoredBox[] = [];
      scores.forEach((s, j) => {
        if (s > 0.4) found.push({ x1: boxes[j * 4]! * netSize, y1: boxes[j * 4 + 1]! * netSize, x2: boxes[j * 4 + 2]! * netSize, y2: boxes[j * 4 + 3]! * netSize, score: s });
      });
      return nms(found, 0.5);
    };
    let compared = 0;
    for (const im of (await loadFaceSet(await devDataDir())).slice(0, 4)) {
      const img = await decodeImage(await readFile(im.file), { maxSide: 512 });
      const a = await pixelBoxes(d512, 512, img);
      const b = await pixelBoxes(d1024, SSD_TILE_INPUT_SIZE, img);
      // Every confident box of one has a counterpart (score > 0.4) in the other.
      for (const [x, y] of [[a, b], [b, a]] as const) {
        for (const fx of x.filter((f) => f.score > 0.6)) {
          const iou = Math.max(0, ...y.map((fy) => rectIou(rect(fx), rect(fy))));
          assert.ok(iou > 0.7, `${im.file}: IoU ${iou}`);
          compared++;
        }
      }
    }
    assert.ok(compared >= 20, `only ${compared} faces compared`);
  });
});

function rect(b: ScoredBox): { x: number; y: number; width: number; height: number } {
  return { x: b.x1, y: b.y1, width: b.x2 - b.x1, height: b.y2 - b.y1 };
}
