import { ModelPackError } from './errors.js';
import type { FaceEngine, FaceEngineOptions } from './face-engine.js';
import { FaceApiEngine } from './faceapi-pack.js';
import { FACEAPI_PACK_ID } from './faceapi-model-cache.js';
import { InsightFaceEngine } from './insightface-pack.js';
import { INSIGHTFACE_PACK_ID } from './model-packs.js';

export type { AnalyzeOptions, DetectedFace, FaceAnalysis, FaceBox, FaceEngine, FaceEngineOptions } from './face-engine.js';
export { ImageDecodeError, ModelPackError, VisionError } from './errors.js';
export type { ImageDecodeErrorCode, ModelPackErrorCode } from './errors.js';
export { cosine, cosineToSimilarity, normalize, similarityToCosine, toStorageVector, DEFAULT_THRESHOLD } from './similarity-calibration.js';
export { faceQuality } from './face-quality.js';
export type { FaceQuality } from './face-quality.js';
export { FACEAPI_PACK_ID } from './faceapi-model-cache.js';
export { installModelPack, listModelPacks, INSIGHTFACE_PACK_ID } from './model-packs.js';
export type { InstalledPackManifest, ModelPackInfo } from './model-packs.js';
export { decodeImage, declaredPixels, DEFAULT_MAX_PIXELS } from './image-decoder.js';
export type { DecodedImage, DecodeOptions } from './image-decoder.js';

/**
 * Loads a model pack and returns its engine. The default pack builds its ONNX files into
 * `modelDir` on first use (a few seconds) and reuses them afterwards.
 */
export async function createFaceEngine(options: FaceEngineOptions): Promise<FaceEngine> {
  const packId = options.packId ?? FACEAPI_PACK_ID;
  if (packId === FACEAPI_PACK_ID) return FaceApiEngine.create(options);
  if (packId === INSIGHTFACE_PACK_ID) return InsightFaceEngine.create(options);
  throw new ModelPackError('unknown_pack', `unknown model pack "${packId}"`);
}
