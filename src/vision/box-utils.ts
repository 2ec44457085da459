/** Axis-aligned box in pixels, corner form. */
export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** A scored box. */
export interface ScoredBox extends Box {
  score: number;
}

export function area(b: Box): number {
  return Math.max(0, b.x2 - b.x1) * Math.max(0, b.y2 - b.y1);
}

export function intersection(a: Box, b: Box): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  return w > 0 && h > 0 ? w * h : 0;
}

/** Intersection over union. */
export function iou(a: Box, b: Box): number {
  const i = intersection(a, b);
  return i === 0 ? 0 : i / (area(a) + area(b) - i);
}

/**
 * Greedy non-maximum suppression. Besides IoU, a box mostly contained in a better one
 * (intersection / smaller area ≥ `containment`) is dropped: tiles and scales produce partial
 * faces inside whole ones that plain IoU keeps.
 */
export function nms<T extends ScoredBox>(boxes: T[], iouThreshold: number, containment = 1.01, maxResults = Infinity): T[] {
  const sorted = [...boxes].sort((p, q) => q.score - p.score);
  const kept: T[] = [];
  for (const b of sorted) {
    if (kept.length >= maxResults) break;
    let ok = true;
    for (const k of kept) {
      const i = intersection(b, k);
      if (i === 0) continue;
      if (i / (area(b) + area(k) - i) > iouThreshold || i / Math.min(area(b), area(k)) >= containment) {
        ok = false;
        break;
      }
    }
    if (ok) kept.push(b);
  }
  return kept;
}
