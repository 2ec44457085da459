import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { ModelPackError } from './errors.js';
import { FACEAPI_PACK_ID } from './faceapi-model-cache.js';

/** Id of the optional InsightFace pack (SCRFD detector + ArcFace w600k). */
export const INSIGHTFACE_PACK_ID = 'insightface-buffalo';

/** What `<modelDir>/insightface-buffalo/pack.json` records. */
export interface InstalledPackManifest {
  packId: string;
  detector: string;
  recognizer: string;
  dimensions: number;
  sha256: Record<string, string>;
  installedAt: string;
}

/** One row of {@link listModelPacks}. */
export interface ModelPackInfo {
  id: string;
  dimensions: number;
  /** Usable right now. */
  installed: boolean;
  /** Where it comes from, for humans. */
  source: string;
  /** Commercial use allowed by the weights' licence. */
  commercialUse: boolean;
}

interface OnnxShapeInfo {
  name: string;
  dims: (number | string)[];
}

/** Reads input/output shapes by opening an onnxruntime session (also proves the file loads). */
async function describeModel(file: string): Promise<{ inputs: OnnxShapeInfo[]; outputs: OnnxShapeInfo[] }> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, { logSeverityLevel: 3 });
  } catch (cause) {
    throw new ModelPackError('invalid', `${path.basename(file)} is not a loadable ONNX model`, { cause });
  }
  const shapes = (meta: readonly ort.InferenceSession.ValueMetadata[]): OnnxShapeInfo[] =>
    meta.map((m) => ({ name: m.name, dims: m.isTensor ? [...m.shape] : [] }));
  const out = { inputs: shapes(session.inputMetadata), outputs: shapes(session.outputMetadata) };
  await session.release();
  return out;
}

/** SCRFD: one NCHW 3-channel input; 9 outputs (scores/bbox/kps × strides 8, 16, 32). */
export async function validateScrfd(file: string): Promise<void> {
  const { inputs, outputs } = await describeModel(file);
  const dims = inputs[0]?.dims ?? [];
  if (inputs.length !== 1 || dims.length !== 4 || dims[1] !== 3) {
    throw new ModelPackError('invalid', `${path.basename(file)}: expected one [N,3,H,W] input, got ${JSON.stringify(inputs)}`);
  }
  const lastDims = outputs.map((o) => o.dims[o.dims.length - 1]);
  const count = (k: number): number => lastDims.filter((d) => d === k).length;
  if (outputs.length !== 9 || count(1) !== 3 || count(4) !== 3 || count(10) !== 3) {
    throw new ModelPackError('invalid', `${path.basename(file)}: expected SCRFD with keypoints (9 outputs: 3×score, 3×bbox, 3×kps), got ${JSON.stringify(outputs.map((o) => o.dims))}`);
  }
}

/** ArcFace: [N,3,112,112] in, [N,512] out. */
export async function validateArcface(file: string): Promise<void> {
  const { inputs, outputs } = await describeModel(file);
  const i = inputs[0]?.dims ?? [];
  const o = outputs[0]?.dims ?? [];
  if (inputs.length !== 1 || i.length !== 4 || i[1] !== 3 || i[2] !== 112 || i[3] !== 112) {
    throw new ModelPackError('invalid', `${path.basename(file)}: expected a [N,3,112,112] input, got ${JSON.stringify(i)}`);
  }
  if (outputs.length !== 1 || o.length !== 2 || o[1] !== 512) {
    throw new ModelPackError('invalid', `${path.basename(file)}: expected a [N,512] output, got ${JSON.stringify(o)}`);
  }
}

async function findFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await findFiles(p)));
    else out.push(p);
  }
  return out;
}

async function unzipTo(zip: string, dest: string): Promise<void> {
  const run = promisify(execFile);
  try {
    await run('unzip', ['-v']);
  } catch (cause) {
    throw new ModelPackError('unzip_missing', 'installing from a .zip needs the `unzip` command on PATH (or pass the extracted directory)', { cause });
  }
  try {
    await run('unzip', ['-q', '-o', zip, '-d', dest]);
  } catch (cause) {
    throw new ModelPackError('invalid', `could not extract ${zip}`, { cause });
  }
}

/**
 * Checks and registers user-supplied InsightFace files (a directory or a .zip such as buffalo_l.zip):
 * picks `det_*.onnx` (SCRFD with keypoints) and `w600k_*.onnx` (ArcFace), validates their tensor
 * shapes with onnxruntime, and copies them to `<modelDir>/insightface-buffalo/`.
 */
export async function installModelPack(src: string, modelDir: string): Promise<InstalledPackManifest> {
  try {
    await access(src);
  } catch (cause) {
    throw new ModelPackError('not_found', `${src} does not exist`, { cause });
  }
  let tmp: string | undefined;
  try {
    let dir = src;
    if ((await stat(src)).isFile()) {
      if (!src.toLowerCase().endsWith('.zip')) throw new ModelPackError('invalid', `${src}: expected a directory or a .zip`);
      tmp = await mkdtemp(path.join(os.tmpdir(), 'facepass-pack-'));
      await unzipTo(src, tmp);
      dir = tmp;
    }
    const files = await findFiles(dir);
    const pick = (re: RegExp, what: string): string => {
      const hits = files.filter((f) => re.test(path.basename(f))).sort();
      if (!hits.length) throw new ModelPackError('not_found', `no ${what} found in ${src}`);
      return hits[0]!;
    };
    const det = pick(/^det_.*\.onnx$/i, 'SCRFD detector (det_*.onnx)');
    const rec = pick(/^w600k_.*\.onnx$/i, 'ArcFace recogniser (w600k_*.onnx)');
    await validateScrfd(det);
    await validateArcface(rec);

    const target = path.join(modelDir, INSIGHTFACE_PACK_ID);
    await mkdir(target, { recursive: true });
    const manifest: InstalledPackManifest = {
      packId: INSIGHTFACE_PACK_ID,
      detector: path.basename(det),
      recognizer: path.basename(rec),
      dimensions: 512,
      sha256: {},
      installedAt: new Date().toISOString(),
    };
    for (const f of [det, rec]) {
      await copyFile(f, path.join(target, path.basename(f)));
      manifest.sha256[path.basename(f)] = createHash('sha256').update(await readFile(f)).digest('hex');
    }
    await writeFile(path.join(target, 'pack.json'), JSON.stringify(manifest, null, 2));
    return manifest;
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

/** Reads the installed InsightFace manifest, or undefined when the pack is not installed. */
export async function readInstalledPack(modelDir: string): Promise<InstalledPackManifest | undefined> {
  try {
    return JSON.parse(await readFile(path.join(modelDir, INSIGHTFACE_PACK_ID, 'pack.json'), 'utf8')) as InstalledPackManifest;
  } catch {
    return undefined;
  }
}

/** Known packs and whether each can be used with this model directory. */
export async function listModelPacks(modelDir: string): Promise<ModelPackInfo[]> {
  const insight = await readInstalledPack(modelDir);
  return [
    { id: FACEAPI_PACK_ID, dimensions: 128, installed: true, source: 'npm @vladmandic/face-api weights, rebuilt as ONNX on first use', commercialUse: true },
    {
      id: INSIGHTFACE_PACK_ID,
      dimensions: 512,
      installed: insight !== undefined,
      source: insight ? `${insight.detector} + ${insight.recognizer} (installed ${insight.installedAt})` : 'not installed: facepass models install <dir-or-zip>',
      commercialUse: false,
    },
  ];
}
