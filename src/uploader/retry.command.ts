import type { Command } from 'commander';
import { ApiError } from './facepass.client.js';
import { apiClientFor, EXIT_WAIT_TIMEOUT, explainApiErrors, followProcessing, idArgument, processIo, withApiOptions, type ApiCommandOptions, type CommandIo } from './api-command.js';
import type { ProcessingResult } from './processing.waiter.js';

interface RetryOptions extends ApiCommandOptions {
  event: number;
  photo?: number[];
  wait?: boolean;
  waitTimeout?: number;
}

/** What one `facepass retry` did, as `--json` prints it. */
interface RetryOutcome {
  event_id: number;
  requeued: number;
  /** `--photo` ids the server refused, with why (not failed, not found). */
  refused: { photo_id: number; status: number; error: string; message: string }[];
  processing?: ProcessingResult;
}

/**
 * Adds `facepass retry --event <id> [--photo <id>…] [--wait]`: processes failed photos again (the
 * console's retry buttons, for scripts), then optionally follows them like `upload --wait`.
 * A photo that is not failed is reported and skipped, not an error for the others.
 */
export function registerRetryCommand(program: Command, env: Record<string, string | undefined>, io: CommandIo = processIo): Command {
  return withApiOptions(
    program
      .command('retry')
      .description("process an event's failed photos again (all of them, or the --photo ids), optionally waiting for the result")
      .requiredOption('--event <id>', 'event id', idArgument)
      .option('--photo <id...>', 'only these photos (ids from `upload --json` or the API); by default every failed photo of the event', (v: string, prev: number[] = []) => [
        ...prev,
        idArgument(v),
      ])
      .option('--wait', 'wait until processing finishes, showing progress')
      .option('--wait-timeout <seconds>', 'with --wait: give up after this long (exit code 2)', idArgument),
  ).action(async (opts: RetryOptions) => {
    const client = apiClientFor(opts, env);
    const outcome: RetryOutcome = { event_id: opts.event, requeued: 0, refused: [] };
    await explainApiErrors(async () => {
      if (!opts.photo?.length) {
        outcome.requeued = await client.retryFailed(opts.event);
        return;
      }
      for (const photoId of opts.photo) {
        try {
          await client.retryPhoto(photoId);
          outcome.requeued++;
        } catch (error) {
          // Only "not found" and "not failed" are about the photo; a key or network problem stops the command.
          if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 409)) throw error;
          outcome.refused.push({ photo_id: photoId, status: error.status, error: error.code, message: error.message });
        }
      }
    });
    if (!opts.json) {
      io.stdout.write(outcome.requeued > 0 ? `Queued ${outcome.requeued} photo(s) of event ${opts.event} for processing again.\n` : `No failed photo to retry in event ${opts.event}.\n`);
      for (const r of outcome.refused) io.stdout.write(`  photo #${r.photo_id}: ${r.message} (${r.status})\n`);
    }

    if (opts.wait && outcome.requeued > 0) outcome.processing = await followProcessing(client, opts.event, opts, io);

    if (opts.json) io.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
    if (outcome.processing?.timedOut) io.setExitCode(EXIT_WAIT_TIMEOUT);
    else if (outcome.refused.length > 0 || (outcome.processing?.failures.length ?? 0) > 0) io.setExitCode(1);
  });
}
