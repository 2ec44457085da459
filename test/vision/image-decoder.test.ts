import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { ImageDecodeError, VisionError } from '../../src/vision/errors.js';
import { decodeImage } from '../../src/vision/image-decoder.js';
import { devDataDir } from './fixtures.js';
import { pngDeclaring } from '../helpers/png-header.js';

async function expectDecodeError(input: Buffer, code: string): Promise<void> {
  const t0 = performance.now();
  await assert.rejects(decodeImage(input), (err: unknown) => {
    assert.ok(err instanceof ImageDecodeError, `expected ImageDecodeError, got ${String(err)}`);
    assert.ok(err instanceof VisionError);
    assert.equal(err.code, code);
    return true;
  });
  assert.ok(performance.now() - t0 < 2000, 'rejection must be fast');
}

describe('image decoding', () => {
  it('rejects an empty buffer', () => expectDecodeError(Buffer.alloc(0), 'empty'));

  it('rejects bytes that are not an image', () => expectDecodeError(Buffer.from('%PDF-1.4 definitely not a picture'), 'not_image'));

  it('rejects a truncated JPEG', async () => {
    const jpg = await readFile(`${await devDataDir()}/faces/2008_001009.jpg`);
    await expectDecodeError(jpg.subarray(0, Math.floor(jpg.length / 2)), 'truncated');
  });

  it('rejects a 100000×100000 PNG header before decoding pixels', () => expectDecodeError(pngDeclaring(100_000, zlib.deflateSync(Buffer.alloc(4096))), 'too_large'));

  it('honours a custom pixel limit', async () => {
    const png = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#888' } }).png().toBuffer();
    await assert.rejects(decodeImage(png, { maxPixels: 100_000 }), (e: unknown) => e instanceof ImageDecodeError && e.code === 'too_large');
    const ok = await decodeImage(png, { maxPixels: 120_000 });
    assert.equal(ok.width, 400);
  });

  it('flattens alpha to RGB and applies EXIF orientation', async () => {
    const rgba = await sharp({ create: { width: 40, height: 20, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.5 } } })
      .withMetadata({ orientation: 6 })
      .png()
      .toBuffer();
    // PNG ignores EXIF orientation in sharp's writer; use JPEG for the orientation half.
    const flat = await decodeImage(rgba);
    assert.equal(flat.data.length, flat.width * flat.height * 3);
    const jpg = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#00f' } }).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const rotated = await decodeImage(jpg);
    assert.deepEqual([rotated.width, rotated.height, rotated.originalWidth, rotated.originalHeight], [20, 40, 20, 40]);
  });

  it('decodes an image above the working size shrunk to it, keeping its original size', async () => {
    const png = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#888' } }).png().toBuffer();
    const img = await decodeImage(png, { maxWorkPixels: 30_000 });
    assert.deepEqual([img.width, img.height, img.originalWidth, img.originalHeight], [200, 150, 400, 300]);
    const whole = await decodeImage(png, { maxWorkPixels: 120_000 });
    assert.deepEqual([whole.width, whole.height], [400, 300]);
  });

  it('shrinks on load when asked', async () => {
    const jpg = await sharp({ create: { width: 3000, height: 2000, channels: 3, background: '#777' } }).jpeg().toBuffer();
    const img = await decodeImage(jpg, { maxSide: 1000 });
    assert.deepEqual([img.width, img.height, img.originalWidth, img.originalHeight], [1000, 667, 3000, 2000]);
  });
});
