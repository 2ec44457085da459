import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const devDir = path.join(root, 'test/.fixtures/dlib');
let pending: Promise<string> | undefined;

/** dlib's example photos (faces/, johns/), fetched once by scripts/fetch-dev-data.sh. */
export function devDataDir(): Promise<string> {
  pending ??= (async () => {
    try {
      await access(path.join(devDir, 'faces/testing.xml'));
      await access(path.join(devDir, 'johns'));
    } catch {
      await promisify(execFile)('bash', [path.join(root, 'scripts/fetch-dev-data.sh'), devDir], { cwd: root });
    }
    return devDir;
  })();
  return pending;
}

/** Shared model directory for tests; the default pack's ONNX files are built here once. */
export function testModelDir(): string {
  return path.join(root, 'test/.fixtures/models');
}
