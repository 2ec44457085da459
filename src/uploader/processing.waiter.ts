import { setTimeout as delay } from 'node:timers/promises';
import { ApiError, type EventProgressAnswer, type FacePassClient, type FailedPhoto, type UnfinishedPhoto } from './facepass.client.js';

/** The default deadline: 2 hours, or 10 s per photo left when waiting starts, whichever is longer. */
export function defaultWaitTimeoutMs(progress: Pick<EventProgressAnswer, 'pending' | 'processing'>): number {
  return Math.max(2 * 3600_000, (progress.pending + progress.processing) * 10_000);
}

/** Options of {@link waitForProcessing}. */
export interface WaitOptions {
  /** Time between progress polls. @defaultValue 2000 */
  intervalMs?: number;
  /** Polls that may fail in a row (server restarting) before giving up. @defaultValue 5 */
  maxPollErrors?: number;
  /** Gives up after this long. @defaultValue {@link defaultWaitTimeoutMs} of the first progress answer */
  timeoutMs?: number;
  /** Called with every progress answer. */
  onProgress?(progress: EventProgressAnswer): void;
}

/**
 * The end of processing: the final counts and the photos that failed, with their reasons; or, when
 * the deadline passed first (`timedOut`), the photos still pending or processing.
 */
export interface ProcessingResult {
  progress: EventProgressAnswer;
  failures: FailedPhoto[];
  timedOut: boolean;
  /** Photos not finished at the deadline (empty unless `timedOut`). */
  unfinished: UnfinishedPhoto[];
}

/**
 * Polls the event's progress until no photo is pending or processing, then lists the failures.
 * Polling keeps the CLI to plain HTTP; a few requests a second is nothing for the API.
 */
export async function waitForProcessing(client: FacePassClient, eventId: number, options: WaitOptions = {}): Promise<ProcessingResult> {
  const intervalMs = options.intervalMs ?? 2000;
  const maxPollErrors = options.maxPollErrors ?? 5;
  const started = performance.now();
  let timeoutMs = options.timeoutMs;
  let errors = 0;
  for (;;) {
    let progress: EventProgressAnswer | undefined;
    try {
      progress = await client.progress(eventId);
      errors = 0;
    } catch (error) {
      if (!(error instanceof ApiError) || !error.transient || ++errors > maxPollErrors) throw error;
    }
    if (progress) {
      options.onProgress?.(progress);
      timeoutMs ??= defaultWaitTimeoutMs(progress);
      if (progress.complete) return { progress, failures: progress.failed > 0 ? await client.failedPhotos(eventId) : [], timedOut: false, unfinished: [] };
      const left = timeoutMs - (performance.now() - started);
      if (left <= 0) {
        const failures = progress.failed > 0 ? await client.failedPhotos(eventId) : [];
        return { progress, failures, timedOut: true, unfinished: await client.unfinishedPhotos(eventId) };
      }
      await delay(Math.min(intervalMs, left));
      continue;
    }
    await delay(intervalMs);
  }
}
