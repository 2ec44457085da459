import sharp, { type Metadata } from 'sharp';
import { ImageDecodeError } from './errors.js';

/** Default decompression-bomb guard: 100 megapixels. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** An image decoded to packed 8-bit RGB, EXIF orientation applied. */
export interface RgbImage {
  /** Packed RGB, row-major, width*height*3 bytes. */
  data: Buffer;
  width: number;
  height: number;
}

/** A decoded image plus the size of the full-resolution, EXIF-oriented original. */
export interface DecodedImage extends RgbImage {
  /** Width of the oriented original; `width` may be smaller when shrunk on load. */
  originalWidth: number;
  originalHeight: number;
}

/** Options for {@link decodeImage}. */
export interface DecodeOptions {
  /** Reject images with more pixels than this. @defaultValue 100 MP */
  maxPixels?: number;
  /** If set, downscale so the longer side is at most this (JPEG shrink-on-load makes this cheap). */
  maxSide?: number;
}

function classify(err: unknown): ImageDecodeError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(msg)) return new ImageDecodeError('too_large', 'image exceeds the pixel limit', { cause: err });
  if (/unsupported image format|bad seek|Input buffer contains unsupported/i.test(msg)) {
    return new ImageDecodeError('not_image', 'not a supported image', { cause: err });
  }
  if (/premature end|truncated|unexpected end|corrupt|incomplete|read error|end of/i.test(msg)) {
    return new ImageDecodeError('truncated', `image data is truncated or corrupt: ${msg}`, { cause: err });
  }
  return new ImageDecodeError('not_image', `could not decode image: ${msg}`, { cause: err });
}

/**
 * Decodes any sharp-supported image to RGB with EXIF auto-orientation, sRGB, alpha flattened on
 * white. Every failure becomes an {@link ImageDecodeError}; oversize inputs are rejected from the
 * header alone, before any pixel is decoded.
 */
export async function decodeImage(input: Buffer, opts: DecodeOptions = {}): Promise<DecodedImage> {
  if (input.length === 0) throw new ImageDecodeError('empty', 'image is empty');
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: maxPixels }).metadata();
  } catch (err) {
    throw classify(err);
  }
  const { width, height } = meta;
  if (!width || !height) throw new ImageDecodeError('not_image', 'image has no dimensions');
  if (width * height > maxPixels) {
    throw new ImageDecodeError('too_large', `image is ${width}x${height}, above the ${maxPixels}-pixel limit`);
  }
  // EXIF orientations 5..8 swap the axes.
  const swap = (meta.orientation ?? 1) >= 5;
  const originalWidth = swap ? height : width;
  const originalHeight = swap ? width : height;

  try {
    // failOn 'error' rejects truncated files instead of returning a half-grey picture.
    let pipeline = sharp(input, { limitInputPixels: maxPixels, failOn: 'error' })
      .rotate()
      .toColourspace('srgb')
      .flatten({ background: { r: 255, g: 255, b: 255 } });
    if (opts.maxSide && Math.max(originalWidth, originalHeight) > opts.maxSide) {
      pipeline = pipeline.resize({ width: opts.maxSide, height: opts.maxSide, fit: 'inside', kernel: 'linear' });
    }
    const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new ImageDecodeError('unsupported', `unexpected ${info.channels} channels`);
    return { data, width: info.width, height: info.height, originalWidth, originalHeight };
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    throw classify(err);
  }
}
