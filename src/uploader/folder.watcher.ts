import fsp from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { watch } from 'chokidar';
import { ApiError, createFacePassClient, type FacePassClient } from './facepass.client.js';
import { hashFile, isHidden, isImage } from './image-files.scanner.js';
import { openSentFiles } from './sent-files.state.js';
import { UploadError } from './folder.uploader.js';

/** Options of {@link watchFolder}. */
export interface WatchOptions {
  url: string;
  apiKey: string;
  eventId: number;
  /** The hot folder (watched recursively; hidden files and folders are skipped). */
  folder: string;
  /** Stops watching: uploads in flight finish, then the promise resolves. */
  signal: AbortSignal;
  /** A file is sent once its size has not changed for this long. @defaultValue 2000 */
  stableMs?: number;
  /** The sent-files state. @defaultValue `<folder>/.facepass-sent-<event>.jsonl` */
  statePath?: string;
  /** Files uploaded at once. @defaultValue 2 */
  concurrency?: number;
  /** Tries per file for 5xx-unavailable and network errors. @defaultValue 5 */
  attempts?: number;
  /** First retry delay, doubled each time. @defaultValue 1000 */
  retryDelayMs?: number;
  /** Files found at start count as live shots when modified this recently. @defaultValue 600000 (10 min) */
  liveWindowMs?: number;
  client?: FacePassClient;
}

/** The hot folder's counters, after every change. */
export interface WatchStatus {
  folder: string;
  eventId: number;
  /** Sent and stored as new photos. */
  sent: number;
  /** Sent, and the server already had the bytes. */
  duplicates: number;
  /** Not sent: in the state file or already on the server. */
  skipped: number;
  failed: number;
  /** Uploads in flight or queued. */
  pending: number;
  /** The initial scan is over: new files are being watched for. */
  ready: boolean;
  lastFile?: string;
  lastAt?: number;
}

/** Receives the watcher's progress; the terminal reporter draws it. */
export interface WatchReporter {
  status(status: WatchStatus): void;
  /** A message on its own line: a failure, a retry. */
  note(message: string): void;
}

const FATAL_STATUSES = new Set([401, 403, 404, 409]);

/**
 * `facepass upload --watch`: sends every image that appears under `folder` (or was there and has not
 * been sent) once its size has stopped changing, marked live. What was sent is kept in a state file
 * (path + size + mtime, and the SHA-256), so a restart sends nothing twice; the server dedupes by hash
 * as well. Resolves with the final counters when `signal` aborts; throws {@link UploadError} when the
 * event stops taking uploads (bad key, event gone or inactive).
 */
export async function watchFolder(options: WatchOptions, reporter: WatchReporter): Promise<WatchStatus> {
  const folder = path.resolve(options.folder);
  const stat = await fsp.stat(folder).catch(() => undefined);
  if (!stat?.isDirectory()) throw new Error(`No such folder: ${options.folder}`);
  const { eventId, signal } = options;
  const client = options.client ?? createFacePassClient({ url: options.url, apiKey: options.apiKey });
  const stableMs = options.stableMs ?? 2000;
  const attempts = Math.max(1, options.attempts ?? 5);
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const concurrency = Math.max(1, options.concurrency ?? 2);
  const liveWindowMs = options.liveWindowMs ?? 600_000;
  const statePath = path.resolve(options.statePath ?? path.join(folder, `.facepass-sent-${eventId}.jsonl`));

  let known: Set<string>;
  try {
    // Doubles as the preflight: a bad key or a foreign event fails here, before watching.
    known = await client.hashes(eventId);
  } catch (error) {
    if (error instanceof ApiError) throw new UploadError(`Cannot upload to event ${eventId}: ${error.message} (${error.status || 'no answer'})`, error.status);
    throw error;
  }
  const state = await openSentFiles(statePath);
  const status: WatchStatus = { folder, eventId, sent: 0, duplicates: 0, skipped: 0, failed: 0, pending: 0, ready: false };
  const report = (): void => reporter.status({ ...status });

  let fatal: UploadError | undefined;
  const stopped = new AbortController();
  const stop = (): void => stopped.abort();
  signal.addEventListener('abort', stop, { once: true });

  // Files wait here for an upload slot; a path is queued once at a time.
  const queue: { file: string; live: boolean }[] = [];
  const queued = new Set<string>();
  let running = 0;
  let idle: (() => void) | undefined;

  const upload = async (file: string, live: boolean): Promise<void> => {
    const info = await fsp.stat(file).catch(() => undefined);
    if (!info?.isFile()) return;
    const entry = { path: path.relative(folder, file), size: info.size, mtimeMs: info.mtimeMs };
    if (state.has(entry)) return;
    const hash = await hashFile(file);
    if (known.has(hash) || state.hasHash(hash)) {
      status.skipped++;
      await state.add({ ...entry, hash });
      return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await client.upload(eventId, file, { live });
        if (answer.duplicate) status.duplicates++;
        else status.sent++;
        known.add(hash);
        await state.add({ ...entry, hash });
        status.lastFile = entry.path;
        status.lastAt = Date.now();
        return;
      } catch (error) {
        const transient = error instanceof ApiError && error.transient;
        if (!transient || attempt >= attempts || stopped.signal.aborted) {
          status.failed++;
          const reason = error instanceof ApiError ? `${error.message}${error.status ? ` (${error.status})` : ''}` : (error as Error).message;
          reporter.note(`Failed ${entry.path}: ${reason}`);
          if (error instanceof ApiError && FATAL_STATUSES.has(error.status)) {
            fatal ??= new UploadError(`Stopped: event ${eventId} no longer takes uploads: ${error.message} (${error.status})`, error.status);
            stop();
          }
          return;
        }
        reporter.note(`Retrying ${entry.path} (attempt ${attempt} failed: ${(error as Error).message})`);
        await delay(retryDelayMs * 2 ** (attempt - 1), undefined, { signal: stopped.signal }).catch(() => undefined);
      }
    }
  };

  const pump = (): void => {
    while (running < concurrency && queue.length > 0 && !stopped.signal.aborted) {
      const next = queue.shift()!;
      running++;
      upload(next.file, next.live)
        .catch((error: Error) => {
          status.failed++;
          reporter.note(`Failed ${path.relative(folder, next.file)}: ${error.message}`);
        })
        .finally(() => {
          running--;
          queued.delete(next.file);
          status.pending = queue.length + running;
          report();
          pump();
          if (running === 0) idle?.();
        });
    }
    status.pending = queue.length + running;
  };

  // Files older than this are the backlog of earlier photos found at start; the rest are live shots.
  const liveSince = Date.now() - liveWindowMs;
  const enqueue = (file: string, mtimeMs: number | undefined): void => {
    if (stopped.signal.aborted || queued.has(file) || !isImage(file)) return;
    const live = mtimeMs === undefined || mtimeMs >= liveSince;
    queued.add(file);
    queue.push({ file, live });
    pump();
    report();
  };

  const watcher = watch(folder, {
    ignoreInitial: false,
    alwaysStat: true,
    // Hidden files (the state file, .DS_Store, tethering tools' temporary files) are never photos.
    ignored: (p: string) => p !== folder && isHidden(path.basename(p)),
    // A file counts once its size has not changed for stableMs: a camera or tethering tool still
    // writing it is left alone.
    awaitWriteFinish: { stabilityThreshold: stableMs, pollInterval: Math.max(20, Math.min(100, Math.floor(stableMs / 4))) },
  });
  watcher.on('add', (file, stats) => enqueue(file, stats?.mtimeMs));
  // Rewritten in place (the tool saved it again): sent again only if its bytes are new.
  watcher.on('change', (file, stats) => enqueue(file, stats?.mtimeMs));
  watcher.on('error', (error) => reporter.note(`Watch error: ${(error as Error).message}`));
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  status.ready = true;
  report();

  if (!stopped.signal.aborted) await new Promise<void>((resolve) => stopped.signal.addEventListener('abort', () => resolve(), { once: true }));
  signal.removeEventListener('abort', stop);
  await watcher.close();
  queue.length = 0;
  if (running > 0) await new Promise<void>((resolve) => (idle = resolve));
  await state.close();
  status.pending = 0;
  report();
  if (fatal) throw fatal;
  return { ...status };
}
