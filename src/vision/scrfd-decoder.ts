import { nms, type ScoredBox } from './box-utils.js';
import type { Point } from './face-aligner.js';

/** SCRFD feature strides; each grid location carries 2 anchors. */
export const SCRFD_STRIDES = [8, 16, 32] as const;
export const SCRFD_ANCHORS_PER_LOCATION = 2;

/** Raw SCRFD head outputs of one stride, batch dimension removed. */
export interface ScrfdLevel {
  stride: number;
  /** [n] face probabilities. */
  scores: Float32Array;
  /** [n, 4] distances (left, top, right, bottom) in stride units. */
  bbox: Float32Array;
  /** [n, 10] keypoint offsets (x, y) × 5 in stride units, or undefined for models without keypoints. */
  kps?: Float32Array;
}

/** A face from SCRFD, in input-tensor pixels. */
export interface ScrfdFace extends ScoredBox {
  kps: Point[];
}

/**
 * Decodes SCRFD outputs as insightface's scrfd.py does: anchor centres on a stride grid (2 per
 * location, consecutive), distance-to-bbox and offset keypoints scaled by the stride, then NMS.
 */
export function decodeScrfd(levels: ScrfdLevel[], inputW: number, inputH: number, scoreThreshold = 0.5, nmsIou = 0.4): ScrfdFace[] {
  const faces: ScrfdFace[] = [];
  for (const { stride, scores, bbox, kps } of levels) {
    const gw = Math.ceil(inputW / stride);
    const gh = Math.ceil(inputH / stride);
    const n = gw * gh * SCRFD_ANCHORS_PER_LOCATION;
    if (scores.length !== n) throw new RangeError(`stride ${stride}: expected ${n} anchors, got ${scores.length}`);
    for (let i = 0; i < n; i++) {
      const score = scores[i]!;
      if (score < scoreThreshold) continue;
      const loc = Math.floor(i / SCRFD_ANCHORS_PER_LOCATION);
      const cx = (loc % gw) * stride;
      const cy = Math.floor(loc / gw) * stride;
      const face: ScrfdFace = {
        x1: cx - bbox[i * 4]! * stride,
        y1: cy - bbox[i * 4 + 1]! * stride,
        x2: cx + bbox[i * 4 + 2]! * stride,
        y2: cy + bbox[i * 4 + 3]! * stride,
        score,
        kps: [],
      };
      if (kps) {
        for (let k = 0; k < 5; k++) face.kps.push([cx + kps[i * 10 + 2 * k]! * stride, cy + kps[i * 10 + 2 * k + 1]! * stride]);
      }
      faces.push(face);
    }
  }
  return nms(faces, nmsIou);
}
