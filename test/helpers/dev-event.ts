import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { devDataDir } from '../vision/fixtures.js';

/** Names of the five people in dlib's johns set. */
export async function johns(): Promise<{ name: string; files: string[] }[]> {
  const dir = path.join(await devDataDir(), 'johns');
  const names = (await fs.readdir(dir)).sort();
  return Promise.all(
    names.map(async (name) => ({ name, files: (await fs.readdir(path.join(dir, name))).sort().map((f) => path.join(dir, name, f)) })),
  );
}

/**
 * An "event photo": real face photos of the given people side by side on a plain background,
 * like a group shot (deterministic, so tests know who is in which photo).
 */
export async function groupPhoto(faceFiles: string[], seed: number): Promise<Buffer> {
  const side = 240;
  const gap = 60;
  const width = faceFiles.length * (side + gap) + gap;
  const height = side + 2 * gap + 80;
  const tiles = await Promise.all(faceFiles.map((f) => sharp(f).resize(side, side).toBuffer()));
  const shade = 90 + ((seed * 37) % 120);
  return sharp({ create: { width, height, channels: 3, background: { r: shade, g: shade + 10, b: shade + 20 } } })
    .composite(tiles.map((input, i) => ({ input, left: gap + i * (side + gap), top: gap + (seed % 3) * 20 })))
    .jpeg({ quality: 92 })
    .toBuffer();
}

/** A selfie: one face photo, enlarged on a background so the face fills most of the frame. */
export async function selfie(faceFile: string): Promise<Buffer> {
  const face = await sharp(faceFile).resize(560, 560).toBuffer();
  return sharp({ create: { width: 720, height: 900, channels: 3, background: { r: 200, g: 190, b: 180 } } })
    .composite([{ input: face, left: 80, top: 170 }])
    .jpeg({ quality: 90 })
    .toBuffer();
}
