import type { Readable } from 'node:stream';
import type { PhotoStorage } from '../../src/storage/index.js';
import type { FaceEngine } from '../../src/vision/index.js';
import { FaceApiEngine } from '../../src/vision/faceapi-pack.js';

/** Accumulated milliseconds and call counts, by name. */
export class StageClock {
  readonly totals = new Map<string, { ms: number; calls: number }>();

  add(name: string, ms: number): void {
    const t = this.totals.get(name) ?? { ms: 0, calls: 0 };
    t.ms += ms;
    t.calls++;
    this.totals.set(name, t);
  }

  ms(name: string): number {
    return this.totals.get(name)?.ms ?? 0;
  }

  /** Times an async call under `name`. */
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.add(name, performance.now() - t0);
    }
  }
}

/** The same storage, with every read and write timed: the worker's storage share of a job. */
export function timedStorage(storage: PhotoStorage, clock: StageClock): PhotoStorage {
  return {
    kind: storage.kind,
    put: (key: string, body: Readable | Buffer, contentType: string) => clock.time('storage_put', () => storage.put(key, body, contentType)),
    get: (key) => clock.time('storage_get', () => storage.get(key)),
    getBuffer: (key) => clock.time('storage_get', () => storage.getBuffer(key)),
    delete: (key) => storage.delete(key),
    deletePrefix: (prefix) => storage.deletePrefix(prefix),
    list: (prefix) => storage.list(prefix),
    listFolders: (prefix) => storage.listFolders(prefix),
    url: (key, ttl) => storage.url(key, ttl),
    ping: () => storage.ping(),
    close: () => storage.close(),
  };
}

/**
 * Times the detector inside analyze() (the default pack exposes it), so analyze time splits
 * into detection and the rest (landmarks, alignment, embedding; decode is measured apart).
 * Returns false for packs without a reachable detector.
 */
export function timeDetector(engine: FaceEngine, clock: StageClock): boolean {
  if (!(engine instanceof FaceApiEngine)) return false;
  const detector = engine.detector;
  const detect = detector.detect.bind(detector);
  detector.detect = (img, opts) => clock.time('detect', () => detect(img, opts));
  return true;
}

/** The p-th percentile (0–100), nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Prints rows as an aligned table; the first row is the header. */
export function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  rows.forEach((r, i) => {
    console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}
