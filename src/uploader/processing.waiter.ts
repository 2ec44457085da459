import { setTimeout as delay } from 'node:timers/promises';
import { ApiError, type EventProgressAnswer, type FacePassClient, type FailedPhoto } from './facepass.client.js';

/** Options of {@link waitForProcessing}. */
export interface WaitOptions {
  /** Time between progress polls. @defaultValue 2000 */
  intervalMs?: number;
  /** Polls that may fail in a row (server restarting) before giving up. @defaultValue 5 */
  maxPollErrors?: number;
  /** Called with every progress answer. */
  onProgress?(progress: EventProgressAnswer): void;
}

/** The end of processing: the final counts and the photos that failed, with their reasons. */
export interface ProcessingResult {
  progress: EventProgressAnswer;
  failures: FailedPhoto[];
}

/**
 * Polls the event's progress until no photo is pending or processing, then lists the failures.
 * Polling keeps the CLI to plain HTTP; a few requests a second is nothing for the API.
 */
export async function waitForProcessing(client: FacePassClient, eventId: number, options: WaitOptions = {}): Promise<ProcessingResult> {
  const intervalMs = options.intervalMs ?? 2000;
  const maxPollErrors = options.maxPollErrors ?? 5;
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
      if (progress.complete) return { progress, failures: progress.failed > 0 ? await client.failedPhotos(eventId) : [] };
    }
    await delay(intervalMs);
  }
}
