import type { Readable } from 'node:stream';

/** Metadata of a stored object. */
export interface StoredObject {
  key: string;
  size: number;
}

/** Where photos live. One interface for S3 and the local disk; keys look like `events/{id}/{uuid}.jpg`. */
export interface PhotoStorage {
  /** Human-readable kind, for logs and /readyz. */
  readonly kind: 's3' | 'local';
  /** Stores a stream (or buffer) under `key`; the object appears whole or not at all. */
  put(key: string, body: Readable | Buffer, contentType: string): Promise<StoredObject>;
  /** Opens an object for reading; throws `ObjectNotFoundError` when missing. */
  get(key: string): Promise<Readable>;
  /** Reads a whole object into memory (photos are bounded by the upload limit). */
  getBuffer(key: string): Promise<Buffer>;
  /** Removes an object; removing a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Removes every object under a prefix; returns how many were removed. */
  deletePrefix(prefix: string): Promise<number>;
  /** Lists keys under a prefix (for cleanup checks and tests). */
  list(prefix: string): Promise<string[]>;
  /** Names of the folders directly under a prefix ending in `/` (`events/` → event ids), for the orphan sweep. */
  listFolders(prefix: string): Promise<string[]>;
  /** A time-limited URL to read the object (the bucket stays private). */
  url(key: string, ttlSeconds: number): Promise<string>;
  /** Throws when the storage cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The object does not exist. */
export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`Object not found: ${key}`);
    this.name = 'ObjectNotFoundError';
  }
}

/** Rejects keys that could escape their namespace (absolute, `..`, empty segments). */
export function assertSafeKey(key: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(key) || key.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new Error(`Unsafe storage key: ${JSON.stringify(key)}`);
  }
}

export async function streamToBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}
