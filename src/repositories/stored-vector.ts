import { sql } from 'kysely';

/**
 * Vectors cross the repository boundary zero-padded to {@link STORAGE_WIDTH} (the seed's contract:
 * every pack's embedding in one 512-wide shape), but db_vector stores each pack's vectors at the
 * pack's own width, in half precision (issue #17: a 128-d face takes 264 bytes instead of 2,056).
 * Zero padding leaves cosine distances unchanged, so cutting on the way in and padding on the way
 * out is exact; half precision moves a cosine by about 1e-4.
 */
export const STORAGE_WIDTH = 512;

/**
 * Stored width per model pack (kept in step with src/vision/model-packs.ts; a test checks it).
 * A pack missing here is stored at whatever width it is given, queries of it are not cut either.
 */
export const PACK_WIDTHS: Readonly<Record<string, number>> = { 'faceapi-resnet128': 128, 'insightface-buffalo': 512 };

/** The vector as db_vector stores it for `modelPack`: the pack's own width. */
export function toStoredVector(modelPack: string, vector: number[]): number[] {
  const width = PACK_WIDTHS[modelPack];
  return width === undefined || vector.length <= width ? vector : vector.slice(0, width);
}

/** pgvector's text form of the stored vector. */
export const storedLiteral = (modelPack: string, vector: number[]): string => `[${toStoredVector(modelPack, vector).join(',')}]`;

/** The query vector as SQL, in the stored type (`halfvec`), for comparing with `embedding`. */
export const storedVector = (modelPack: string, vector: number[]) => sql`${storedLiteral(modelPack, vector)}::halfvec`;

/** A stored vector (pgvector text) back at the boundary width (never cut). */
export function fromStoredText(text: string, width = STORAGE_WIDTH): number[] {
  const v = JSON.parse(text) as number[];
  if (v.length >= width) return v;
  return v.concat(new Array<number>(width - v.length).fill(0));
}
