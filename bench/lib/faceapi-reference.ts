import { createRequire } from 'node:module';
import { faceApiModelDir } from '../../src/vision/faceapi-weights.js';
import { decodeImage } from '../../src/vision/image-decoder.js';

// Minimal typing of the parts of @vladmandic/face-api the bench uses (tfjs-wasm build).
interface Tensor3D {
  dispose(): void;
}
interface FaceApiResult {
  detection: { score: number; box: { x: number; y: number; width: number; height: number } };
  descriptor: Float32Array;
}
interface DetectionTask {
  withFaceLandmarks(): { withFaceDescriptors(): Promise<FaceApiResult[]> };
}
interface BareDetection {
  score: number;
  box: { x: number; y: number; width: number; height: number };
}
interface FaceApiModule {
  tf: { setBackend(n: string): Promise<boolean>; ready(): Promise<void>; tensor3d(d: Uint8Array, s: number[], dtype: string): Tensor3D };
  nets: Record<'ssdMobilenetv1' | 'faceLandmark68Net' | 'faceRecognitionNet', { loadFromDisk(dir: string): Promise<void> }>;
  SsdMobilenetv1Options: new (o: { minConfidence: number; maxResults?: number }) => unknown;
  detectAllFaces(input: Tensor3D, options: unknown): DetectionTask & Promise<BareDetection[]>;
}

/** face-api on tfjs-wasm, the runtime the default pack is compared against. */
export class FaceApiReference {
  private constructor(private readonly api: FaceApiModule) {}

  static async create(): Promise<FaceApiReference> {
    const require = createRequire(import.meta.url);
    const api = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApiModule;
    await api.tf.setBackend('wasm');
    await api.tf.ready();
    const dir = faceApiModelDir();
    await Promise.all([api.nets.ssdMobilenetv1.loadFromDisk(dir), api.nets.faceLandmark68Net.loadFromDisk(dir), api.nets.faceRecognitionNet.loadFromDisk(dir)]);
    return new FaceApiReference(api);
  }

  private async tensor(image: Buffer): Promise<Tensor3D> {
    const img = await decodeImage(image);
    return this.api.tf.tensor3d(new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.length), [img.height, img.width, 3], 'int32');
  }

  /** Full pipeline: detect all faces, landmarks, descriptors (face-api defaults, minConfidence 0.5). */
  async analyze(image: Buffer): Promise<FaceApiResult[]> {
    const t = await this.tensor(image);
    try {
      return await this.api.detectAllFaces(t, new this.api.SsdMobilenetv1Options({ minConfidence: 0.5 })).withFaceLandmarks().withFaceDescriptors();
    } finally {
      t.dispose();
    }
  }

  /** Detection only. */
  async detect(image: Buffer): Promise<BareDetection[]> {
    const t = await this.tensor(image);
    try {
      return await this.api.detectAllFaces(t, new this.api.SsdMobilenetv1Options({ minConfidence: 0.5 }));
    } finally {
      t.dispose();
    }
  }
}
