import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cosineToSimilarity, similarityToCosine, toStorageVector } from '../../src/vision/index.js';
import { cosine, normalize } from '../../src/vision/similarity-calibration.js';

describe('similarity calibration', () => {
  it('maps the calibrated distance to exactly 0.7 and round-trips', () => {
    const cos07 = similarityToCosine(0.7, 'faceapi-resnet128');
    assert.ok(Math.abs(cos07 - 0.42 ** 2 / 2) < 1e-12);
    for (const s of [0.05, 0.3, 0.7, 0.9, 0.99]) {
      assert.ok(Math.abs(cosineToSimilarity(similarityToCosine(s, 'faceapi-resnet128'), 'faceapi-resnet128') - s) < 1e-9);
    }
  });

  it('is monotonic and bounded', () => {
    let prev = 2;
    for (let d = 0; d <= 2; d += 0.01) {
      const s = cosineToSimilarity(d, 'faceapi-resnet128');
      assert.ok(s >= 0 && s <= 1);
      assert.ok(s < prev);
      prev = s;
    }
  });

  it('rejects unknown packs', () => {
    assert.throws(() => cosineToSimilarity(0.1, 'nope'), /no similarity calibration/);
  });

  it('zero-pads for storage without changing cosine', () => {
    const a = normalize(Float32Array.from({ length: 128 }, (_, i) => Math.sin(i)));
    const b = normalize(Float32Array.from({ length: 128 }, (_, i) => Math.cos(i * 0.7)));
    const pa = toStorageVector(a), pb = toStorageVector(b);
    assert.equal(pa.length, 512);
    assert.ok(pa.slice(128).every((x) => x === 0));
    assert.ok(Math.abs(cosine(Float32Array.from(pa), Float32Array.from(pb)) - cosine(a, b)) < 1e-6);
    assert.throws(() => toStorageVector(new Float32Array(600)), RangeError);
  });
});
