/** An accepted upload format, recognised from the file's first bytes (never from its name or header). */
export interface ImageFormat {
  ext: 'jpg' | 'png' | 'webp' | 'avif' | 'tiff';
  mime: string;
}

/** Bytes needed to recognise every accepted format. */
export const SNIFF_BYTES = 16;
/**
 * Bytes an upload is read ahead before anything is stored: enough for its format and, for every
 * format but TIFF, the header that declares its size (JPEG's comes after EXIF, within 64 KiB).
 */
export const HEADER_BYTES = 64 * 1024;

/** The format of an image from its first bytes, or undefined when it is not one we accept. */
export function sniffImageFormat(head: Buffer): ImageFormat | undefined {
  const at = (offset: number, ...bytes: number[]) => bytes.every((b, i) => head[offset + i] === b);
  const ascii = (offset: number, text: string) => head.subarray(offset, offset + text.length).toString('latin1') === text;
  if (at(0, 0xff, 0xd8, 0xff)) return { ext: 'jpg', mime: 'image/jpeg' };
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return { ext: 'png', mime: 'image/png' };
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return { ext: 'webp', mime: 'image/webp' };
  if (ascii(4, 'ftyp') && ['avif', 'avis'].some((brand) => ascii(8, brand))) return { ext: 'avif', mime: 'image/avif' };
  if (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a)) return { ext: 'tiff', mime: 'image/tiff' };
  return undefined;
}

export const ACCEPTED_FORMATS = 'JPEG, PNG, WebP, AVIF or TIFF';
