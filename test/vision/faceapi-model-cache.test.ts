import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ensureFaceApiModels } from '../../src/vision/faceapi-model-cache.js';

describe('default pack model cache', () => {
  it('builds once, reuses, and rebuilds missing or altered files', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facepass-models-'));
    try {
      const first = await ensureFaceApiModels(dir);
      for (const file of [first.detector, first.selfieDetector]) {
        // int8 weights: a quarter of the 22 MB float graph.
        const { size } = await stat(file);
        assert.ok(size > 4_000_000 && size < 10_000_000, `${file}: ${size} bytes`);
      }
      // The tile build stops at the lowest layer: no Conv2d_12/13 or upper predictors.
      const tile = (await stat(first.tileDetector)).size;
      assert.ok(tile > 1_000_000 && tile < (await stat(first.detector)).size / 2, `tile build: ${tile} bytes`);
      const mtime = (await stat(first.detector)).mtimeMs;
      const again = await ensureFaceApiModels(dir);
      assert.equal((await stat(again.detector)).mtimeMs, mtime, 'cached file must be reused');

      await rm(first.landmarks);
      await writeFile(first.recognizer, 'garbage');
      // A graph an earlier version wrote under another name.
      const stale = path.join(path.dirname(first.detector), 'ssd_mobilenetv1_1024_int8.onnx');
      await writeFile(stale, 'old graph');
      const rebuilt = await ensureFaceApiModels(dir);
      assert.ok((await stat(rebuilt.landmarks)).size > 1_000_000);
      assert.ok((await readFile(rebuilt.recognizer)).length > 1_000_000);
      await assert.rejects(stat(stale), { code: 'ENOENT' }, 'stale graph must be removed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
