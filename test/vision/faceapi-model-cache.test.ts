import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ensureFaceApiModels } from '../../src/vision/faceapi-model-cache.js';
import { ssdAnchorCount } from '../../src/vision/ssd-anchors.js';

describe('default pack model cache', () => {
  it('builds once, reuses, and rebuilds missing or altered files', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facepass-models-'));
    try {
      const first = await ensureFaceApiModels(dir);
      assert.equal(first.detector.anchors.length, 5118 * 4);
      for (const d of [first.detector, first.tileDetector, first.selfieDetector]) {
        assert.equal(d.anchors.length, ssdAnchorCount(d.size) * 4);
        // int8 weights: a quarter of the 22 MB float graph.
        const { size } = await stat(d.file);
        assert.ok(size > 4_000_000 && size < 10_000_000, `${d.file}: ${size} bytes`);
      }
      const mtime = (await stat(first.detector.file)).mtimeMs;
      const again = await ensureFaceApiModels(dir);
      assert.equal((await stat(again.detector.file)).mtimeMs, mtime, 'cached file must be reused');

      await rm(first.landmarks);
      await writeFile(first.recognizer, 'garbage');
      const rebuilt = await ensureFaceApiModels(dir);
      assert.ok((await stat(rebuilt.landmarks)).size > 1_000_000);
      assert.ok((await readFile(rebuilt.recognizer)).length > 1_000_000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
