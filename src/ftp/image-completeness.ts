import fs from 'node:fs/promises';
import sharp from 'sharp';
import { sniffImageFormat, SNIFF_BYTES, type ImageFormat } from '../services/image-format.js';

/** What a stored FTP file is: a whole image, the start of one (keep it for a resume), or not an image. */
export type Completeness = { kind: 'complete'; format: ImageFormat } | { kind: 'incomplete'; format?: ImageFormat } | { kind: 'not_image' };

const JPEG_EOI = Buffer.from([0xff, 0xd9]);
const PNG_IEND = Buffer.from([0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);
const TAIL_BYTES = 16;

/**
 * Tells a whole image from one cut short. An FTP upload ends when the data connection closes, and a
 * camera that loses Wi-Fi mid-file closes it too: the file's own structure is the proof that it is
 * whole. JPEG must end with its EOI marker (camera JPEGs do), PNG with its IEND chunk, WebP must be
 * as long as its RIFF header says; AVIF and TIFF, rare from cameras, are decoded in full with
 * truncation treated as an error (slower, but only for those formats).
 */
export async function checkCompleteness(file: string): Promise<Completeness> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(SNIFF_BYTES, size));
    await handle.read(head, 0, head.length, 0);
    // Nothing arrived yet (the connection dropped at once): nothing to judge, keep it for a resume.
    if (size === 0) return { kind: 'incomplete' };
    const format = sniffImageFormat(head);
    if (!format) return { kind: 'not_image' };
    const tail = Buffer.alloc(Math.min(TAIL_BYTES, size));
    await handle.read(tail, 0, tail.length, size - tail.length);
    let whole: boolean;
    if (format.ext === 'jpg') whole = tail.subarray(-2).equals(JPEG_EOI);
    else if (format.ext === 'png') whole = tail.subarray(-8).equals(PNG_IEND);
    else if (format.ext === 'webp') whole = head.length >= 8 && head.readUInt32LE(4) + 8 <= size;
    else whole = await sharp(file, { failOn: 'truncated' }).stats().then(() => true, () => false);
    return { kind: whole ? 'complete' : 'incomplete', format };
  } finally {
    await handle.close();
  }
}
