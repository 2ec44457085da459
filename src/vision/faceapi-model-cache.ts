import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildLandmarkGraph, buildRecognitionGraph, buildSsdGraph, buildSsdTileGraph, GRAPH_VERSION, SSD_INPUT_SIZE, SSD_SELFIE_INPUT_SIZE } from './faceapi-graphs.js';
import { loadFaceApiWeights, type FaceApiWeights } from './faceapi-weights.js';

/** Pack id of the default, npm-shipped model pack. */
export const FACEAPI_PACK_ID = 'faceapi-resnet128';

/** Paths of the generated ONNX files. */
export interface FaceApiModelFiles {
  /** The whole SSD at SSD_INPUT_SIZE: global and big-face passes. */
  detector: string;
  /** The SSD's tile build (lowest layer, any size): tiled passes of photo mode. */
  tileDetector: string;
  /** The whole SSD at SSD_SELFIE_INPUT_SIZE for selfie mode. */
  selfieDetector: string;
  landmarks: string;
  recognizer: string;
}

interface CacheMeta {
  graphVersion: string;
  sources: Record<string, string>;
}

type NetKey = 'detector' | 'tileDetector' | 'selfieDetector' | 'landmarks' | 'recognizer';

// `variant` tells apart graphs built from the same weights in build-info.json. The detectors are
// int8 (QDQ): 2.5× faster than float on the same weights with the same detections (bench:faces).
const NETS: { key: NetKey; weights: string; variant: string; file: string; build: (w: FaceApiWeights) => Uint8Array }[] = [
  ...([['detector', SSD_INPUT_SIZE], ['selfieDetector', SSD_SELFIE_INPUT_SIZE]] as const).map(([key, size]) => ({
    key,
    weights: 'ssd_mobilenetv1_model',
    variant: `@${size}-int8`,
    file: `ssd_mobilenetv1_${size}_int8.onnx`,
    build: (w: FaceApiWeights) => buildSsdGraph(w, size, true),
  })),
  { key: 'tileDetector', weights: 'ssd_mobilenetv1_model', variant: '@tile-int8', file: 'ssd_mobilenetv1_tile_int8.onnx', build: (w) => buildSsdTileGraph(w, true) },
  { key: 'landmarks', weights: 'face_landmark_68_model', variant: '', file: 'face_landmark_68.onnx', build: buildLandmarkGraph },
  { key: 'recognizer', weights: 'face_recognition_model', variant: '', file: 'face_recognition.onnx', build: buildRecognitionGraph },
];

async function fileSha256(file: string): Promise<string | undefined> {
  try {
    return createHash('sha256').update(await readFile(file)).digest('hex');
  } catch {
    return undefined;
  }
}

/**
 * Makes sure `<modelDir>/faceapi-resnet128/*.onnx` exist and match the installed face-api weights
 * and this code's graph version; (re)builds them otherwise. The hash of each written file is
 * recorded too, so a truncated or edited file is rebuilt rather than loaded.
 */
export async function ensureFaceApiModels(modelDir: string, weightsDir?: string): Promise<FaceApiModelFiles> {
  const dir = path.join(modelDir, FACEAPI_PACK_ID);
  await mkdir(dir, { recursive: true });
  const metaPath = path.join(dir, 'build-info.json');
  let meta: CacheMeta | undefined;
  try {
    meta = JSON.parse(await readFile(metaPath, 'utf8')) as CacheMeta;
  } catch {
    meta = undefined;
  }
  const next: CacheMeta = { graphVersion: GRAPH_VERSION, sources: {} };
  const out: Partial<Record<NetKey, string>> = {};
  let changed = false;
  const loaded = new Map<string, FaceApiWeights>();
  for (const net of NETS) {
    let weights = loaded.get(net.weights);
    if (!weights) {
      weights = await loadFaceApiWeights(net.weights, weightsDir);
      loaded.set(net.weights, weights);
    }
    const file = path.join(dir, net.file);
    const sourceKey = `${net.weights}${net.variant}:${weights.sha256}`;
    const recorded = meta?.graphVersion === GRAPH_VERSION ? meta.sources[sourceKey] : undefined;
    const actual = recorded ? await fileSha256(file) : undefined;
    if (recorded && actual === recorded) {
      next.sources[sourceKey] = recorded;
    } else {
      const bytes = net.build(weights);
      // Write then rename: a crash mid-write must not leave a half file that looks valid.
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, file);
      next.sources[sourceKey] = createHash('sha256').update(bytes).digest('hex');
      changed = true;
    }
    out[net.key] = file;
  }
  if (changed || !meta) await writeFile(metaPath, JSON.stringify(next, null, 2));
  // Graphs of earlier versions (other file names) would otherwise stay on disk for good.
  if (changed) {
    const current = new Set(NETS.map((n) => n.file));
    for (const name of await readdir(dir)) if (name.endsWith('.onnx') && !current.has(name)) await rm(path.join(dir, name), { force: true });
  }
  const { detector, tileDetector, selfieDetector, landmarks, recognizer } = out;
  if (!detector || !tileDetector || !selfieDetector || !landmarks || !recognizer) throw new Error('unreachable');
  return { detector, tileDetector, selfieDetector, landmarks, recognizer };
}
