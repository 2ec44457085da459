import fs from 'node:fs';
import fsp from 'node:fs/promises';

/** One file the hot folder has delivered (or found already on the server). */
export interface SentFile {
  /** Path relative to the watched folder. */
  path: string;
  size: number;
  mtimeMs: number;
  /** SHA-256 (hex), the digest the server dedupes by. */
  hash: string;
}

const keyOf = (f: Pick<SentFile, 'path' | 'size' | 'mtimeMs'>): string => `${f.path}\u0000${f.size}\u0000${Math.round(f.mtimeMs)}`;

/**
 * What the hot folder has sent to one event, kept in a JSON-lines file so a restart does not send
 * anything again. Lines are appended one per file as soon as the server has it; a line cut short by
 * a crash is skipped on load (that one file is hashed again and the server answers it is a duplicate).
 */
export async function openSentFiles(file: string) {
  const byKey = new Set<string>();
  const hashes = new Set<string>();
  const text = await fsp.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as SentFile;
      if (typeof entry.path !== 'string' || typeof entry.hash !== 'string') continue;
      byKey.add(keyOf(entry));
      hashes.add(entry.hash);
    } catch {
      // A torn last line: ignored.
    }
  }
  const out = fs.createWriteStream(file, { flags: 'a' });
  return {
    /** How many files the state file holds. */
    get size(): number {
      return byKey.size;
    },
    /** Sent before with the same path, size and modification time: nothing to do, not even a hash. */
    has: (f: Pick<SentFile, 'path' | 'size' | 'mtimeMs'>): boolean => byKey.has(keyOf(f)),
    hasHash: (hash: string): boolean => hashes.has(hash),
    async add(entry: SentFile): Promise<void> {
      byKey.add(keyOf(entry));
      hashes.add(entry.hash);
      await new Promise<void>((resolve, reject) => out.write(`${JSON.stringify(entry)}\n`, (error) => (error ? reject(error) : resolve())));
    },
    close: (): Promise<void> => new Promise((resolve) => out.end(resolve)),
  };
}
export type SentFiles = Awaited<ReturnType<typeof openSentFiles>>;
