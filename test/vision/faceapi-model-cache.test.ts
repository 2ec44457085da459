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
      assert.equal(first.anchors.length, 5118 * 4);
      assert.equal(first.selfieAnchors.length, ssdAnchorCount(first.selfieInputSize) * 4);
      assert.ok((await stat(first.selfieDetector)).size > 1_000_000);
      const mtime = (await stat(first.detector)).mtimeMs;
      const again = await ensureFaceApiModels(dir);
      assert.equal((await stat(again.detector)).mtimeMs, mtime, 'cached file must be reused');

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
