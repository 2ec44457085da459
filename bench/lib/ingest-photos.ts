import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

/** 12 MP, 4:3: what a typical event camera delivers. */
export const BENCH_WIDTH = 4000;
export const BENCH_HEIGHT = 3000;

/**
 * Writes `n` distinct 12 MP JPEGs made from the dlib photos in `sourceDir`: each cycle through
 * the sources shifts the crop and the quality a little, so every file has its own bytes (the
 * server would store byte-identical files once).
 */
export async function prepareBenchPhotos(sourceDir: string, outDir: string, n: number): Promise<string[]> {
  const sources = (await fs.readdir(sourceDir)).filter((f) => /\.jpe?g$/i.test(f)).sort();
  if (sources.length === 0) throw new Error(`no JPEG photos in ${sourceDir}`);
  await fs.mkdir(outDir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const source = path.join(sourceDir, sources[i % sources.length]!);
    const cycle = Math.floor(i / sources.length);
    const meta = await sharp(source).metadata();
    // Trim up to a few pixels per cycle from the top-left corner: same faces, different bytes.
    const trim = Math.min(cycle * 3, Math.floor(Math.min(meta.width!, meta.height!) / 10));
    const out = path.join(outDir, `bench-${String(i).padStart(4, '0')}.jpg`);
    await sharp(source)
      .rotate()
      .extract({ left: trim, top: trim, width: meta.width! - trim, height: meta.height! - trim })
      .resize(BENCH_WIDTH, BENCH_HEIGHT, { fit: 'cover', kernel: 'lanczos3' })
      .jpeg({ quality: 90 - (cycle % 3) })
      .toFile(out);
    files.push(out);
  }
  return files;
}
