import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ModelPackError } from './errors.js';

/** One weight tensor of a face-api model, dequantised to float32. */
export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

/** Weights of one face-api model by their TF names, plus a hash of the source files. */
export interface FaceApiWeights {
  tensors: Map<string, WeightTensor>;
  sha256: string;
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: { scale?: number; min?: number; dtype: 'uint8' | 'uint16' | 'float16' };
}

export interface ManifestGroup {
  paths: string[];
  weights: ManifestEntry[];
}

/** Directory holding face-api's weights as installed from npm. */
export function faceApiModelDir(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@vladmandic/face-api/package.json');
  return path.join(path.dirname(pkg), 'model');
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * Reads `<name>-weights_manifest.json` and its shards, dequantising as tfjs does
 * (value = q * scale + min), so the ONNX graphs see the same numbers as face-api.
 */
export async function loadFaceApiWeights(modelName: string, dir = faceApiModelDir()): Promise<FaceApiWeights> {
  const manifestPath = path.join(dir, `${modelName}-weights_manifest.json`);
  let manifestText: string;
  try {
    manifestText = await readFile(manifestPath, 'utf8');
  } catch (cause) {
    throw new ModelPackError('not_found', `face-api weights manifest not found: ${manifestPath}`, { cause });
  }
  return decodeWeightGroups(JSON.parse(manifestText) as ManifestGroup[], dir, modelName, manifestText);
}

/**
 * Reads a tfjs weights manifest's shards from `dir` and dequantises them as tfjs does
 * (value = q * scale + min). `hashSeed` (the manifest or model text) joins the shards in the hash,
 * so any change of the source files changes the hash of the weights.
 */
export async function decodeWeightGroups(groups: ManifestGroup[], dir: string, modelName: string, hashSeed: string): Promise<FaceApiWeights> {
  const hash = createHash('sha256').update(hashSeed);
  const tensors = new Map<string, WeightTensor>();
  for (const group of groups) {
    const shards = await Promise.all(group.paths.map((p) => readFile(path.join(dir, p))));
    for (const s of shards) hash.update(s);
    const buf = Buffer.concat(shards);
    let offset = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      const q = w.quantization;
      if (q) {
        const scale = q.scale ?? 1;
        const min = q.min ?? 0;
        if (q.dtype === 'uint8') {
          for (let i = 0; i < n; i++) data[i] = buf[offset + i]! * scale + min;
          offset += n;
        } else if (q.dtype === 'uint16') {
          for (let i = 0; i < n; i++) data[i] = buf.readUInt16LE(offset + 2 * i) * scale + min;
          offset += 2 * n;
        } else {
          for (let i = 0; i < n; i++) data[i] = halfToFloat(buf.readUInt16LE(offset + 2 * i));
          offset += 2 * n;
        }
      } else if (w.dtype === 'int32') {
        for (let i = 0; i < n; i++) data[i] = buf.readInt32LE(offset + 4 * i);
        offset += 4 * n;
      } else {
        for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(offset + 4 * i);
        offset += 4 * n;
      }
      tensors.set(w.name, { shape: w.shape, data });
    }
    if (offset !== buf.length) {
      throw new ModelPackError('invalid', `${modelName}: manifest describes ${offset} bytes, shards hold ${buf.length}`);
    }
  }
  return { tensors, sha256: hash.digest('hex') };
}

/** Looks a tensor up and checks its shape, so a changed upstream file fails loudly. */
export function getTensor(w: FaceApiWeights, name: string, shape?: number[]): WeightTensor {
  const t = w.tensors.get(name);
  if (!t) throw new ModelPackError('invalid', `weight ${name} missing`);
  if (shape && (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i]))) {
    throw new ModelPackError('invalid', `weight ${name} has shape [${t.shape}], expected [${shape}]`);
  }
  return t;
}
