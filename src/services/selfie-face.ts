/** A face box in pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Which face of a selfie to search with. */
export type FaceChoice = { kind: 'chosen'; index: number } | { kind: 'none' } | { kind: 'ambiguous'; boxes: Box[] };

/** How much larger (in prominence) the main face must be than the next to count as clearly dominant. */
export const DOMINANCE_RATIO = 2;

/** Area weighted by closeness to the image centre: a selfie's own face is big and central. */
function prominence(box: Box, width: number, height: number): number {
  const cx = (box.x + box.width / 2) / width - 0.5;
  const cy = (box.y + box.height / 2) / height - 0.5;
  const offCentre = Math.min(1, Math.hypot(cx, cy) / Math.SQRT1_2);
  return box.width * box.height * (1 - 0.5 * offCentre);
}

/**
 * Picks the selfie's face: the only one; the clearly dominant one (size and centre); or the one
 * the user named with `faceIndex` (an index into `boxes` as returned by an ambiguous answer,
 * ordered most prominent first).
 */
export function chooseSelfieFace(boxes: Box[], width: number, height: number, faceIndex?: number): FaceChoice {
  if (boxes.length === 0) return { kind: 'none' };
  const ranked = boxes.map((box, index) => ({ index, p: prominence(box, width, height) })).sort((a, b) => b.p - a.p);
  if (faceIndex !== undefined) {
    const pick = ranked[faceIndex];
    return pick ? { kind: 'chosen', index: pick.index } : { kind: 'ambiguous', boxes: ranked.map((r) => boxes[r.index]!) };
  }
  const [first, second] = ranked;
  if (!second || first!.p >= DOMINANCE_RATIO * second.p) return { kind: 'chosen', index: first!.index };
  return { kind: 'ambiguous', boxes: ranked.map((r) => boxes[r.index]!) };
}
