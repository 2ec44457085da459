import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { ImageDecodeError, VisionError } from '../../src/vision/errors.js';
import { decodeImage } from '../../src/vision/image-decoder.js';
import { devDataDir } from './fixtures.js';

function crc32(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid PNG header claiming 100000×100000 RGB pixels, with almost no data behind it. */
function pngBomb(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(100_000, 0);
  ihdr.writeUInt32BE(100_000, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(Buffer.alloc(4096))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

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

  it('rejects a 100000×100000 PNG header before decoding pixels', () => expectDecodeError(pngBomb(), 'too_large'));

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
