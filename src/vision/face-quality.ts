import type { DetectedFace } from './face-engine.js';

/**
 * What the engine can tell about how usable a face is for recognition, from its box, detector
 * score and five landmarks. Small, turned and doubtful faces give embeddings that drift towards
 * the "average face", so they resemble everyone: the matcher asks more of them (see
 * src/services/match-decision.ts).
 */
export interface FaceQuality {
  /** Face box side in pixels (the smaller of width and height). */
  size: number;
  /** Detector confidence, 0..1. */
  score: number;
  /** Yaw proxy: the nose tip's offset from the eyes' midpoint, in inter-eye distances (0 = frontal). */
  yaw: number;
  /** Roll: angle of the eye line in degrees. */
  roll: number;
}

/** Quality of one detected face. */
export function faceQuality(face: Pick<DetectedFace, 'box' | 'score' | 'landmarks'>, _width?: number, _height?: number): FaceQuality {
  const [le, re, nose] = face.landmarks;
  let yaw = 0, roll = 0;
  if (le && re && nose) {
    const dx = re[0] - le[0], dy = re[1] - le[1];
    const eyeDist = Math.hypot(dx, dy) || 1;
    const mx = (le[0] + re[0]) / 2, my = (le[1] + re[1]) / 2;
    // Component of the nose offset along the eye line: sideways turn, whatever the roll.
    yaw = ((nose[0] - mx) * dx + (nose[1] - my) * dy) / (eyeDist * eyeDist);
    roll = (Math.atan2(dy, dx) * 180) / Math.PI;
  }
  const round = (v: number, d = 1000): number => Math.round(v * d) / d;
  return { size: Math.round(Math.min(face.box.width, face.box.height)), score: round(face.score), yaw: round(yaw), roll: round(roll, 10) };
}
