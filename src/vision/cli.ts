import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import sharp from 'sharp';
import type { FaceAnalysis, FaceEngine } from './face-engine.js';
import { createFaceEngine, installModelPack, listModelPacks } from './index.js';

type Mode = 'photo' | 'selfie';

function parseMode(value: string): Mode {
  if (value !== 'photo' && value !== 'selfie') throw new Error(`--mode must be photo or selfie, not ${value}`);
  return value;
}

async function withEngine<T>(getModelDir: () => string, packId: string | undefined, fn: (e: FaceEngine) => Promise<T>): Promise<T> {
  const engine = await createFaceEngine({ modelDir: getModelDir(), packId });
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

function summary(file: string, a: FaceAnalysis, ms: number): string {
  const lines = [`${file}: ${a.width}×${a.height}, ${a.faces.length} face(s), ${ms.toFixed(0)} ms`];
  a.faces.forEach((f, i) => {
    const b = f.box;
    lines.push(`  #${i + 1} score ${f.score.toFixed(3)} box ${b.x.toFixed(0)},${b.y.toFixed(0)} ${b.width.toFixed(0)}×${b.height.toFixed(0)}`);
  });
  return lines.join('\n');
}

/** SVG overlay: a box and 5 landmark dots per face. */
export function facesOverlaySvg(a: FaceAnalysis): string {
  const stroke = Math.max(2, Math.round(Math.max(a.width, a.height) / 400));
  const parts = a.faces.map((f) => {
    const { x, y, width, height } = f.box;
    const dots = f.landmarks.map(([lx, ly]) => `<circle cx="${lx.toFixed(1)}" cy="${ly.toFixed(1)}" r="${stroke * 1.5}" fill="#ff3b30"/>`).join('');
    return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${width.toFixed(1)}" height="${height.toFixed(1)}" fill="none" stroke="#34c759" stroke-width="${stroke}"/>` +
      `<text x="${x.toFixed(1)}" y="${(y - stroke * 2).toFixed(1)}" fill="#34c759" font-size="${stroke * 8}" font-family="sans-serif">${f.score.toFixed(2)}</text>${dots}`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${a.width}" height="${a.height}">${parts.join('')}</svg>`;
}

/**
 * Adds `faces analyze|detect|compare` and `models list|install` to the main CLI.
 * `getModelDir` is called lazily so the caller's config is parsed first.
 */
export function registerVisionCommands(program: Command, getModelDir: () => string): void {
  const faces = program.command('faces').description('run the face engine on local images');

  faces
    .command('analyze')
    .description('detect, align and embed faces in one or more images')
    .argument('<files...>', 'image files')
    .option('--json', 'print JSON (embeddings included)')
    .option('--mode <mode>', 'photo or selfie', parseMode, 'photo' as Mode)
    .option('--pack <id>', 'model pack id')
    .action(async (files: string[], opts: { json?: boolean; mode: Mode; pack?: string }) => {
      await withEngine(getModelDir, opts.pack, async (engine) => {
        const results: unknown[] = [];
        for (const file of files) {
          const t0 = performance.now();
          const a = await engine.analyze(await readFile(file), { mode: opts.mode });
          const ms = performance.now() - t0;
          if (opts.json) {
            results.push({ file, packId: engine.packId, ms: Math.round(ms), ...a, faces: a.faces.map((f) => ({ ...f, embedding: Array.from(f.embedding) })) });
          } else {
            console.log(summary(file, a, ms));
          }
        }
        if (opts.json) console.log(JSON.stringify(results.length === 1 ? results[0] : results, null, 2));
      });
    });

  faces
    .command('detect')
    .description('draw detected faces and landmarks onto a copy of the image')
    .argument('<image>', 'image file')
    .requiredOption('--out <file>', 'annotated output image (format from extension)')
    .option('--mode <mode>', 'photo or selfie', parseMode, 'photo' as Mode)
    .option('--pack <id>', 'model pack id')
    .action(async (image: string, opts: { out: string; mode: Mode; pack?: string }) => {
      await withEngine(getModelDir, opts.pack, async (engine) => {
        const input = await readFile(image);
        const a = await engine.analyze(input, { mode: opts.mode });
        // Draw on the EXIF-oriented pixels, the same frame the boxes refer to.
        const out = await sharp(input).rotate().composite([{ input: Buffer.from(facesOverlaySvg(a)), top: 0, left: 0 }]).toFile(opts.out);
        console.log(`${a.faces.length} face(s) → ${opts.out} (${out.width}×${out.height})`);
      });
    });

  faces
    .command('compare')
    .description('similarity of the most confident face in each image')
    .argument('<a>', 'first image')
    .argument('<b>', 'second image')
    .option('--pack <id>', 'model pack id')
    .action(async (a: string, b: string, opts: { pack?: string }) => {
      await withEngine(getModelDir, opts.pack, async (engine) => {
        const best = async (file: string): Promise<Float32Array> => {
          const res = await engine.analyze(await readFile(file), { mode: 'selfie' });
          if (!res.faces.length) throw new Error(`no face found in ${file}`);
          return res.faces.reduce((p, q) => (q.score > p.score ? q : p)).embedding;
        };
        const sim = engine.similarity(await best(a), await best(b));
        console.log(`similarity ${sim.toFixed(3)} → ${sim >= engine.threshold ? 'same person' : 'different people'} (threshold ${engine.threshold}, pack ${engine.packId})`);
      });
    });

  const models = program.command('models').description('face model packs');

  models
    .command('list')
    .description('list model packs and whether they are installed')
    .action(async () => {
      for (const p of await listModelPacks(getModelDir())) {
        console.log(`${p.installed ? '✓' : '✗'} ${p.id.padEnd(20)} ${String(p.dimensions).padStart(3)}-d  ${p.commercialUse ? 'commercial use OK' : 'non-commercial weights'}  ${p.source}`);
      }
    });

  models
    .command('install')
    .description('install the InsightFace pack from a directory or .zip holding det_*.onnx and w600k_*.onnx')
    .argument('<src>', 'directory or zip file')
    .action(async (src: string) => {
      const m = await installModelPack(src, getModelDir());
      console.log(`installed ${m.packId}: ${m.detector} + ${m.recognizer}`);
    });
}
