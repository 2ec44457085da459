import sharp, { type Metadata } from 'sharp';
import { ImageDecodeError } from './errors.js';

/**
 * Decompression-bomb guard: images declaring more pixels are refused from their header alone.
 * sharp's own default (0x3FFF²), well above every camera sold (Phase One IQ4: 151 MP).
 */
export const DEFAULT_MAX_PIXELS = 268_402_689;
/**
 * Images above this are decoded shrunk to it (faces keep ≥ 80 % of their size up to 151 MP). It
 * bounds the engine's working memory where the old 100 MP guard did, without refusing the
 * 100–150 MP frames of medium-format cameras (Fujifilm GFX100, Hasselblad X2D, Phase One).
 */
export const DEFAULT_MAX_WORK_PIXELS = 100_000_000;

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
  /** Reject images with more pixels than this. @defaultValue {@link DEFAULT_MAX_PIXELS} */
  maxPixels?: number;
  /** Decode larger images shrunk to at most this many pixels. @defaultValue {@link DEFAULT_MAX_WORK_PIXELS} */
  maxWorkPixels?: number;
  /** If set, downscale so the longer side is at most this (JPEG shrink-on-load makes this cheap). */
  maxSide?: number;
}

/**
 * The pixel count an image declares in its first bytes (a few KiB hold every format's header but
 * TIFF's, whose directory may sit at the end), or undefined when the head does not tell. Reads no
 * pixel: this is how an upload is refused before a decompression bomb is stored.
 */
export async function declaredPixels(head: Buffer): Promise<{ width: number; height: number } | undefined> {
  try {
    const { width, height } = await sharp(head, { limitInputPixels: false }).metadata();
    return width && height ? { width, height } : undefined;
  } catch {
    return undefined;
  }
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
    const longSide = Math.max(originalWidth, originalHeight);
    const maxWorkPixels = opts.maxWorkPixels ?? DEFAULT_MAX_WORK_PIXELS;
    const workSide = width * height > maxWorkPixels ? Math.floor(longSide * Math.sqrt(maxWorkPixels / (width * height))) : longSide;
    const side = Math.min(workSide, opts.maxSide ?? longSide);
    if (side < longSide) pipeline = pipeline.resize({ width: side, height: side, fit: 'inside', kernel: 'linear' });
    const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new ImageDecodeError('unsupported', `unexpected ${info.channels} channels`);
    return { data, width: info.width, height: info.height, originalWidth, originalHeight };
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    throw classify(err);
  }
}
