import crypto from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { assertSafeKey, ObjectNotFoundError, type PhotoStorage } from './storage.js';
import type { UrlSigner } from './url-signer.js';

/** Route under which the API serves local objects by signed URL. */
export const LOCAL_FILES_ROUTE = '/api/v1/files';

/** Photos are personal data: only the service's own user may read them or list their folders. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** Photos on the local disk, for the embedded default; URLs are signed links served by the API. */
export function createLocalStorage(options: { dir: string; publicUrl: string; signer: UrlSigner }): PhotoStorage {
  const root = path.resolve(options.dir);
  const fileOf = (key: string): string => {
    assertSafeKey(key);
    return path.join(root, ...key.split('/'));
  };
  const walk = async (dir: string): Promise<string[]> => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return [];
      throw e;
    });
    const files: string[] = [];
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) files.push(...(await walk(full)));
      else if (entry.isFile() && !entry.name.startsWith('.tmp-')) files.push(full);
    }
    return files;
  };
  const list = async (prefix: string): Promise<string[]> => {
    // Walk only the deepest directory the prefix names, then filter by the rest.
    const dir = path.join(root, ...prefix.split('/').slice(0, -1));
    const keys = (await walk(dir)).map((f) => path.relative(root, f).split(path.sep).join('/'));
    return keys.filter((k) => k.startsWith(prefix)).sort();
  };

  return {
    kind: 'local',
    async put(key, body, _contentType) {
      const file = fileOf(key);
      await fs.mkdir(path.dirname(file), { recursive: true, mode: DIR_MODE });
      // Write to a temporary name and rename, so a reader never sees half a photo.
      const tmp = path.join(path.dirname(file), `.tmp-${crypto.randomUUID()}`);
      try {
        await pipeline(Buffer.isBuffer(body) ? Readable.from([body]) : body, createWriteStream(tmp, { mode: FILE_MODE }));
        await fs.rename(tmp, file);
      } catch (error) {
        await fs.rm(tmp, { force: true });
        throw error;
      }
      const { size } = await fs.stat(file);
      return { key, size };
    },
    async get(key) {
      const file = fileOf(key);
      try {
        await fs.access(file);
      } catch {
        throw new ObjectNotFoundError(key);
      }
      return createReadStream(file);
    },
    async getBuffer(key) {
      try {
        return await fs.readFile(fileOf(key));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(key);
        throw e;
      }
    },
    async delete(key) {
      await fs.rm(fileOf(key), { force: true });
    },
    async deletePrefix(prefix) {
      const keys = await list(prefix);
      for (const key of keys) await fs.rm(fileOf(key), { force: true });
      // A folder prefix takes its emptied folders with it: on S3 a prefix without objects does not
      // exist, and the ingest sweep reads a leftover `events/<id>/` folder as an orphaned event.
      const dir = path.join(root, ...prefix.split('/').filter(Boolean));
      if (prefix.endsWith('/') && dir.startsWith(root + path.sep)) await removeEmptyDirs(dir);
      return keys.length;
    },
    list,
    async listFolders(prefix) {
      const dir = path.join(root, ...prefix.split('/').filter(Boolean));
      const entries = await fs.readdir(dir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return [];
        throw e;
      });
      return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
    },
    async url(key, ttlSeconds) {
      assertSafeKey(key);
      const expires = Math.floor(Date.now() / 1000) + ttlSeconds;
      const sig = options.signer.sign(key, expires);
      return `${options.publicUrl}${LOCAL_FILES_ROUTE}/${key}?expires=${expires}&sig=${sig}`;
    },
    async ping() {
      await fs.mkdir(root, { recursive: true, mode: DIR_MODE });
      await fs.access(root, fs.constants.W_OK);
    },
    async close() {},
  };
}

/**
 * Removes `dir` and the folders below it that hold nothing, deepest first. A folder that is not
 * empty (say, a photo being written into it right now) is left as it is.
 */
async function removeEmptyDirs(dir: string): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw e;
  });
  for (const entry of entries) if (entry.isDirectory()) await removeEmptyDirs(path.join(dir, entry.name));
  await fs.rmdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT' && e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
  });
}

/** Absolute path of a key in a local storage root (used by the file route). */
export function localFilePath(dir: string, key: string): string {
  assertSafeKey(key);
  return path.join(path.resolve(dir), ...key.split('/'));
}
