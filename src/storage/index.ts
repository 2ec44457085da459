import fs from 'node:fs/promises';
import crypto from 'node:crypto';
import path from 'node:path';
import type { Config } from '../config.js';
import { createLocalStorage } from './local-storage.js';
import { createS3Storage } from './s3-storage.js';
import type { PhotoStorage } from './storage.js';
import { createUrlSigner, type UrlSigner } from './url-signer.js';

export * from './storage.js';
export { createUrlSigner, type UrlSigner } from './url-signer.js';
export { LOCAL_FILES_ROUTE, localFilePath } from './local-storage.js';

/** The configured storage, plus the signer the API uses to check local-file links. */
export async function createStorage(config: Pick<Config, 'storage' | 'http' | 'urlSigningSecret' | 'dataDir'>): Promise<{
  storage: PhotoStorage;
  signer: UrlSigner;
}> {
  const signer = createUrlSigner(config.urlSigningSecret ?? (await persistentSecret(config.dataDir)));
  const storage =
    config.storage.kind === 's3'
      ? createS3Storage(config.storage)
      : createLocalStorage({ dir: config.storage.dir, publicUrl: config.http.publicUrl, signer });
  return { storage, signer };
}

/** A random secret kept in the data directory, so signed links survive restarts without configuration. */
async function persistentSecret(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'url-signing.secret');
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    await fs.mkdir(dataDir, { recursive: true });
    const secret = crypto.randomBytes(32).toString('base64url');
    await fs.writeFile(file, secret, { mode: 0o600, flag: 'wx' }).catch(() => undefined);
    return (await fs.readFile(file, 'utf8')).trim();
  }
}
