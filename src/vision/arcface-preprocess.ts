import { estimateSimilarity, invertSimilarity, warpSimilarity, type Point } from './face-aligner.js';
import type { RgbImage } from './image-decoder.js';

/** ArcFace's 112×112 5-point template (insightface arcface_dst): eyes, nose, mouth corners. */
export const ARCFACE_TEMPLATE_112: readonly Point[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

/** Aligns a face to the ArcFace template and returns the 112×112 RGB chip. */
export function arcfaceChip(img: RgbImage, kps: readonly Point[]): Buffer {
  const chipFromImage = estimateSimilarity(kps, ARCFACE_TEMPLATE_112);
  return warpSimilarity(img, invertSimilarity(chipFromImage), 112, 112);
}

/** Packs RGB chips into ArcFace's NCHW input, normalised as (x − 127.5) / 127.5. */
export function arcfaceInput(chips: Buffer[], size = 112): Float32Array {
  const plane = size * size;
  const out = new Float32Array(chips.length * 3 * plane);
  chips.forEach((chip, n) => {
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) out[(n * 3 + c) * plane + p] = (chip[p * 3 + c]! - 127.5) / 127.5;
    }
  });
  return out;
}
