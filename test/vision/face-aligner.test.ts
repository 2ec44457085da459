import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  alignFaceChip,
  applySimilarity,
  DLIB_CHIP_TEMPLATE_150,
  estimateSimilarity,
  fivePointsFrom68,
  invertSimilarity,
  warpSimilarity,
  type Point,
} from '../../src/vision/face-aligner.js';

const close = (a: number, b: number, eps = 1e-9): void => assert.ok(Math.abs(a - b) < eps, `${a} ≠ ${b}`);

describe('similarity alignment', () => {
  it('recovers a known rotation, scale and translation exactly', () => {
    const theta = (23 * Math.PI) / 180, s = 1.7, tx = 31.5, ty = -12.25;
    const truth = { a: s * Math.cos(theta), b: s * Math.sin(theta), tx, ty };
    const src: Point[] = [[10, 20], [60, 18], [35, 45], [15, 70], [58, 72]];
    const dst = src.map((p) => applySimilarity(truth, p));
    const est = estimateSimilarity(src, dst);
    close(est.a, truth.a);
    close(est.b, truth.b);
    close(est.tx, truth.tx);
    close(est.ty, truth.ty);
    close(Math.atan2(est.b, est.a), theta);
    close(Math.hypot(est.a, est.b), s);
  });

  it('is the least-squares fit under noise, and inverts cleanly', () => {
    const truth = { a: 0.8, b: -0.3, tx: 5, ty: 7 };
    const src: Point[] = [[0, 0], [100, 0], [50, 50], [10, 90], [90, 95]];
    const noise = [[0.5, -0.3], [-0.4, 0.2], [0.1, 0.6], [-0.2, -0.5], [0.3, 0.1]];
    const dst = src.map((p, i): Point => {
      const [x, y] = applySimilarity(truth, p);
      return [x + noise[i]![0]!, y + noise[i]![1]!];
    });
    const est = estimateSimilarity(src, dst);
    assert.ok(Math.abs(est.a - truth.a) < 0.01 && Math.abs(est.b - truth.b) < 0.01);
    const back = applySimilarity(invertSimilarity(est), applySimilarity(est, [42, 17]));
    close(back[0], 42, 1e-9);
    close(back[1], 17, 1e-9);
  });

  it('uses dlib\'s 150 px chip template (eyes level, mouth below nose)', () => {
    const [le, re, nose, lm, rm] = DLIB_CHIP_TEMPLATE_150 as [Point, Point, Point, Point, Point];
    assert.ok(Math.abs(le[1] - re[1]) < 0.5);
    close(le[0] + re[0], 148, 1); // dlib's mean face is centred at x ≈ 0.49
    assert.ok(nose[1] > le[1] && lm[1] > nose[1] && rm[1] > nose[1]);
    // Inter-ocular distance of a padding-0.25 dlib chip: ≈ 0.48 of the mean shape / 1.5 × 150.
    assert.ok(re[0] - le[0] > 40 && re[0] - le[0] < 60);
  });

  it('maps 68-point landmarks to the 5 used for alignment', () => {
    const pts: Point[] = Array.from({ length: 68 }, (_, i) => [i, 2 * i]);
    const five = fivePointsFrom68(pts);
    assert.deepEqual(five[0], [38.5, 77]);
    assert.deepEqual(five[1], [44.5, 89]);
    assert.deepEqual(five.slice(2), [[30, 60], [48, 96], [54, 108]]);
  });

  it('warps a rotated face back onto the template', () => {
    // A synthetic image where each landmark position is a bright dot; rotate the template by 30°.
    const size = 300;
    const data = Buffer.alloc(size * size * 3);
    const t = { a: 2 * Math.cos(0.5), b: 2 * Math.sin(0.5), tx: 80, ty: 20 };
    const placed = DLIB_CHIP_TEMPLATE_150.map((p) => applySimilarity(t, p));
    for (const [x, y] of placed) {
      for (let dy = -2; dy <= 2; dy++)
        for (let dx = -2; dx <= 2; dx++) data.fill(255, ((Math.round(y) + dy) * size + Math.round(x) + dx) * 3, ((Math.round(y) + dy) * size + Math.round(x) + dx) * 3 + 3);
    }
    const chip = alignFaceChip({ data, width: size, height: size }, placed);
    for (const [x, y] of DLIB_CHIP_TEMPLATE_150) {
      assert.ok(chip[(Math.round(y) * 150 + Math.round(x)) * 3]! > 128, `no dot at template point ${x},${y}`);
    }
    // Identity warp reproduces the source exactly.
    const same = warpSimilarity({ data, width: size, height: size }, { a: 1, b: 0, tx: 0, ty: 0 }, size, size);
    assert.ok(same.equals(data));
  });
});
