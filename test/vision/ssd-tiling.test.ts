import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { SSD_TILE_ALIGN } from '../../src/vision/faceapi-graphs.js';
import { decodeImage } from '../../src/vision/image-decoder.js';
import { DEFAULT_MAX_TILES, packSsdInput, passUnits, planPasses, resizeRgb, tileGrid, TILE_MAX_SIDE } from '../../src/vision/ssd-detector.js';
import { devDataDir } from './fixtures.js';

describe('SSD tiling', () => {
  it('cuts any side into equal aligned tiles that cover it with ≥ 128 px overlap', () => {
    for (let len = 1; len <= 12000; len += 37) {
      const { side, starts } = tileGrid(len);
      assert.equal(side % SSD_TILE_ALIGN, 0, `len ${len}: side ${side}`);
      assert.ok(side <= TILE_MAX_SIDE, `len ${len}: side ${side}`);
      assert.equal(starts[0], 0);
      if (starts.length === 1) {
        assert.ok(side >= len && side - len < SSD_TILE_ALIGN, `len ${len}: one tile of ${side}`);
        continue;
      }
      assert.equal(starts.at(-1)! + side, len, `len ${len}: last tile ends at ${starts.at(-1)! + side}`);
      for (let i = 1; i < starts.length; i++) assert.ok(starts[i - 1]! + side - starts[i]! >= 127, `len ${len}: overlap ${starts[i - 1]! + side - starts[i]!}`);
      // No spare tile: one fewer could not cover the side at the overlap.
      assert.ok((starts.length - 1) * (TILE_MAX_SIDE - 128) + 128 < len, `len ${len}: ${starts.length} tiles of ${side}`);
    }
  });

  it('plans a pyramid down to the smallest face within the budget', () => {
    // 12 MP at 24 px faces: global pass, then tiled passes up to 32/24 = 4/3.
    const passes = planPasses(4000, 3000, { minFaceSize: 24 });
    assert.equal(passes[0]!.kind, 'global');
    assert.ok(passes.slice(1).every((p) => p.kind === 'tiled'));
    assert.ok(Math.abs(passes.at(-1)!.scale - 4 / 3) < 1e-9);
    for (let i = 1; i < passes.length; i++) assert.ok(passes[i]!.scale / passes[i - 1]!.scale <= 3 + 1e-9);
    const units = passes.reduce((n, p) => n + passUnits(p), 0);
    assert.ok(units <= DEFAULT_MAX_TILES, `${units} units`);
    // 24 px faces in 6000×4000 fit the default budget too (the value was chosen for it).
    assert.ok(Math.abs(planPasses(6000, 4000, { minFaceSize: 24 }).at(-1)!.scale - 4 / 3) < 1e-9);
    // A tight budget gives up the finest scale, never the budget.
    const tight = planPasses(6000, 4000, { minFaceSize: 24, maxTiles: 40 });
    assert.ok(tight.reduce((n, p) => n + passUnits(p), 0) <= 40);
    assert.ok(tight.at(-1)!.scale < 4 / 3);
    // No minimum face size: the global pass alone.
    assert.deepEqual(planPasses(4000, 3000, {}).map((p) => p.kind), ['global']);
  });

  it('packs pixels space-to-depth for int8 builds, black outside the image', () => {
    const img = { data: Buffer.alloc(5 * 3 * 3), width: 5, height: 3 };
    for (let i = 0; i < img.data.length; i++) img.data[i] = i + 1;
    const at = (x: number, y: number, c: number): number => img.data[(y * 5 + x) * 3 + c]!;
    // A 4×4 window from (2, -1): rows -1 and 3 are outside, as are columns 5.
    const out = packSsdInput(img, 2, -1, 4, 4, true);
    assert.ok(out instanceof Uint8Array);
    for (let v = 0; v < 4; v++)
      for (let u = 0; u < 4; u++)
        for (let c = 0; c < 3; c++) {
          const x = 2 + u, y = -1 + v;
          const inside = x < 5 && y >= 0 && y < 3;
          const k = ((v >> 1) * 2 + (u >> 1)) * 12 + ((v & 1) * 2 + (u & 1)) * 3 + c;
          assert.equal(out[k], inside ? at(x, y, c) : 0, `pixel (${u}, ${v}) colour ${c}`);
        }
    const float = packSsdInput(img, 0, 0, 2, 2, false);
    assert.ok(float instanceof Float32Array);
    assert.deepEqual([...float], [1, 2, 3, 4, 5, 6, 16, 17, 18, 19, 20, 21]);
  });

  it('upscales large images in two bands that match one whole resize', async () => {
    const photo = await sharp(await readFile(path.join(await devDataDir(), 'faces/bald_guys.jpg'))).resize(3000, 2000, { fit: 'fill' }).raw().toBuffer();
    const img = { data: photo, width: 3000, height: 2000 };
    for (const scale of [4 / 3, 1.7]) {
      const banded = await resizeRgb(img, scale);
      const whole = await sharp(photo, { raw: { width: 3000, height: 2000, channels: 3 } }).resize(banded.width, banded.height, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
      assert.equal(banded.data.length, whole.length);
      let sum = 0;
      for (let i = 0; i < whole.length; i++) sum += Math.abs(banded.data[i]! - whole[i]!);
      // Measured 0.25 grey levels on a 12 MP photo: the second band sits a fraction of a pixel off.
      assert.ok(sum / whole.length < 1, `scale ${scale}: mean |Δ| ${sum / whole.length}`);
    }
    const decoded = await decodeImage(await sharp(photo, { raw: { width: 3000, height: 2000, channels: 3 } }).jpeg().toBuffer());
    assert.equal((await resizeRgb(decoded, 1)).data, decoded.data);
  });
});
