import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ApiError, createFacePassClient, type FacePassClient } from './facepass.client.js';
import { hashFile, scanImageFiles, type ImageFile } from './image-files.scanner.js';

/** Options of {@link uploadFolder}. */
export interface UploadOptions {
  /** Base URL of the FacePass server, e.g. http://localhost:8000. */
  url: string;
  /** A photographer's API key. */
  apiKey: string;
  eventId: number;
  /** Folders (walked recursively) and files. */
  paths: string[];
  /** Files uploaded at once. @defaultValue 4 */
  concurrency?: number;
  /** Tries per file for 5xx-unavailable and network errors; 4xx are never retried. @defaultValue 3 */
  attempts?: number;
  /** First retry delay, doubled each time. @defaultValue 1000 */
  retryDelayMs?: number;
  /** Replaces the HTTP client (tests, other transports). */
  client?: FacePassClient;
}

/** A file that could not be uploaded. `status` is the HTTP status, 0 when there was no answer. */
export interface UploadFailure {
  file: string;
  status: number;
  reason: string;
}

/** What one run did. */
export interface UploadSummary {
  /** Files stored as new photos. */
  uploaded: number;
  /** Files the server already had under another name (answered `duplicate: true`) or repeated locally. */
  duplicates: number;
  /** Files skipped without uploading because the server already had their hash (resume). */
  skipped: number;
  failed: UploadFailure[];
  /** Bytes sent. */
  bytes: number;
  seconds: number;
  /** Files that are not images by extension, left alone. */
  ignored: number;
  /** Set when the run stopped early because the event stopped taking uploads (key revoked, event gone or inactive). */
  aborted?: string;
  /** Files not tried because the run was aborted. */
  notAttempted: number;
}

/** Counters after each file, for progress displays. */
export interface UploadProgress {
  filesTotal: number;
  filesDone: number;
  bytesTotal: number;
  /** Bytes of finished files, uploaded or skipped. */
  bytesDone: number;
  /** Bytes actually sent (what the transfer rate is made of). */
  bytesUploaded: number;
  uploaded: number;
  duplicates: number;
  skipped: number;
  failed: number;
  elapsedSeconds: number;
}

/** Receives the uploader's progress; the terminal reporter draws it. */
export interface UploadReporter {
  /** The files are known and the server's hashes fetched; uploads start. */
  start(progress: UploadProgress): void;
  /** A file finished (uploaded, skipped or failed). */
  update(progress: UploadProgress): void;
  /** A transient error: the file will be tried again. */
  retrying(file: string, attempt: number, reason: string): void;
  /** The run is over. */
  finish(summary: UploadSummary): void;
}

/** A problem that stops the run before any upload: bad key, unknown event, server unreachable. */
export class UploadError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = 'UploadError';
  }
}

/** Errors that concern the whole event, not one file: every further upload would fail the same way. */
const FATAL_STATUSES = new Set([401, 403, 404, 409]);

function explain(error: ApiError, eventId: number): string {
  if (error.status === 401) return `The API key was rejected (401): ${error.message}. Check --key or FACEPASS_API_KEY.`;
  if (error.status === 404) return `Event ${eventId} was not found, or it belongs to another photographer (404).`;
  if (error.status === 409) return `Event ${eventId} does not take uploads (409): ${error.message}`;
  return error.status ? `${error.message} (${error.status})` : error.message;
}

/**
 * Uploads every image file under `paths` to an event: hashes each file (streaming) and skips the
 * ones the server already has (no hashing when the event has no photo yet), uploads the rest with `concurrency` workers, retries transient
 * failures with backoff, and returns a summary. Throws {@link UploadError} when nothing can be
 * uploaded at all (bad key, unknown event, unreachable server).
 */
export async function uploadFolder(options: UploadOptions, reporter: UploadReporter): Promise<UploadSummary> {
  const started = performance.now();
  const client = options.client ?? createFacePassClient({ url: options.url, apiKey: options.apiKey });
  const attempts = Math.max(1, options.attempts ?? 3);
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const { eventId } = options;

  const withRetry = async <T>(file: string, fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (!(error instanceof ApiError) || !error.transient || attempt >= attempts) throw error;
        reporter.retrying(file, attempt, error.message);
        await delay(retryDelayMs * 2 ** (attempt - 1));
      }
    }
  };

  const { files, ignored } = await scanImageFiles(options.paths);
  let known: Set<string>;
  try {
    // Doubles as the preflight: a bad key or a foreign event fails here, before any upload.
    known = await withRetry('(event hashes)', () => client.hashes(eventId));
  } catch (error) {
    if (error instanceof ApiError) throw new UploadError(explain(error, eventId), error.status);
    throw error;
  }

  const progress: UploadProgress = {
    filesTotal: files.length,
    filesDone: 0,
    bytesTotal: files.reduce((sum, f) => sum + f.size, 0),
    bytesDone: 0,
    bytesUploaded: 0,
    uploaded: 0,
    duplicates: 0,
    skipped: 0,
    failed: 0,
    elapsedSeconds: 0,
  };
  const failed: UploadFailure[] = [];
  const claimed = new Set<string>();
  let aborted: string | undefined;
  let next = 0;
  const tick = (): number => (performance.now() - started) / 1000;

  const handle = async (file: ImageFile): Promise<void> => {
    try {
      // Into an event without photos nothing can be skipped, and the server stores identical bytes
      // once anyway: files go without hashing (reading each file twice costs a good part of the time).
      const hash = known.size > 0 ? await hashFile(file.path) : undefined;
      if (hash !== undefined && known.has(hash)) {
        progress.skipped++;
      } else if (hash !== undefined && claimed.has(hash)) {
        // Same bytes twice in the folder: the server would store one photo anyway.
        progress.duplicates++;
      } else {
        if (hash !== undefined) claimed.add(hash);
        const answer = await withRetry(file.path, () => client.upload(eventId, file.path));
        progress.bytesUploaded += file.size;
        if (answer.duplicate) progress.duplicates++;
        else progress.uploaded++;
      }
    } catch (error) {
      progress.failed++;
      if (error instanceof ApiError) {
        failed.push({ file: file.path, status: error.status, reason: error.message });
        if (FATAL_STATUSES.has(error.status)) aborted ??= explain(error, eventId);
      } else {
        failed.push({ file: file.path, status: 0, reason: `Cannot read the file: ${(error as Error).message}` });
      }
    }
    progress.filesDone++;
    progress.bytesDone += file.size;
    progress.elapsedSeconds = tick();
    reporter.update({ ...progress });
  };

  reporter.start({ ...progress });
  const worker = async (): Promise<void> => {
    while (!aborted && next < files.length) await handle(files[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));

  const summary: UploadSummary = {
    uploaded: progress.uploaded,
    duplicates: progress.duplicates,
    skipped: progress.skipped,
    failed: failed.sort((a, b) => a.file.localeCompare(b.file)),
    bytes: progress.bytesUploaded,
    seconds: Math.round(tick() * 100) / 100,
    ignored,
    notAttempted: files.length - progress.filesDone,
    ...(aborted && { aborted }),
  };
  reporter.finish(summary);
  return summary;
}

/** Shortens a path for display relative to the current directory when it is inside it. */
export function displayPath(file: string, cwd: string = process.cwd()): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}
