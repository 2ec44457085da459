import { InvalidArgumentError, type Command } from 'commander';
import { createFacePassClient } from './facepass.client.js';
import { uploadFolder, type UploadReporter, type UploadSummary } from './folder.uploader.js';
import type { ProcessingResult } from './processing.waiter.js';
import { watchFolder } from './folder.watcher.js';
import { apiTargetFor, EXIT_WAIT_TIMEOUT, followProcessing, processIo, showsProgress, type CommandIo } from './api-command.js';
import { createTerminalReporter, createWatchReporter, formatUploadSummary } from './terminal.reporter.js';

const positiveInt =
  (max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`expected an integer from 1 to ${max}`);
    return n;
  };

interface UploadCommandOptions {
  event: number;
  watch?: string;
  stableMs: number;
  url?: string;
  key?: string;
  concurrency: number;
  wait?: boolean;
  waitTimeout?: number;
  json?: boolean;
}

const silent: UploadReporter = { start: () => {}, update: () => {}, retrying: () => {}, finish: () => {} };

/**
 * Adds `facepass upload --event <id> <folder|files...>`. `env` supplies FACEPASS_URL and
 * FACEPASS_API_KEY (the command never reads process.env itself).
 */
export function registerUploadCommand(program: Command, env: Record<string, string | undefined>, io: CommandIo = processIo): Command {
  return program
    .command('upload')
    .description('upload photos to an event: concurrent, resumable (skips what the server has), with progress; or keep watching a hot folder (--watch)')
    .argument('[paths...]', 'folders (searched recursively for jpg, jpeg, png, webp, avif, tif, tiff) and files')
    .option('--watch <folder>', 'hot folder: keep watching and upload each new photo (marked live) once it stops growing; Ctrl-C stops')
    .option('--stable-ms <ms>', 'with --watch: a file is sent once its size has not changed for this long', positiveInt(600_000), 2000)
    .requiredOption('--event <id>', 'event id', positiveInt(2147483647))
    .option('--url <base>', 'server URL (default: FACEPASS_URL or http://localhost:8000)')
    // No default shown for the key: help output must not print a secret taken from the environment.
    .option('--key <apiKey>', 'photographer API key (default: FACEPASS_API_KEY)')
    .option('--concurrency <n>', 'files uploaded at once', positiveInt(64), 4)
    .option('--wait', 'after uploading, wait until every photo is processed, showing progress')
    .option(
      '--wait-timeout <seconds>',
      'with --wait: give up after this long, list the photos still unfinished and exit with code 2 (default: 2 h, or 10 s per photo left if longer)',
      positiveInt(30 * 24 * 3600),
    )
    .option('--json', 'print a machine-readable summary on stdout')
    .action(async (paths: string[], opts: UploadCommandOptions) => {
      const { url, apiKey } = apiTargetFor(opts, env);
      const showProgress = showsProgress(opts, io);
      const client = createFacePassClient({ url, apiKey });
      if (opts.watch !== undefined) {
        if (paths.length > 0 || opts.wait) throw new Error('--watch takes one folder: give no other paths, and no --wait');
        const line = createWatchReporter(io.stderr);
        const status = await watchFolder(
          { url, apiKey, client, eventId: opts.event, folder: opts.watch, signal: io.interrupted(), stableMs: opts.stableMs, concurrency: opts.concurrency },
          showProgress ? line : { status: () => {}, note: (m) => io.stderr.write(`${m}\n`) },
        ).finally(() => line.end());
        if (opts.json) io.stdout.write(`${JSON.stringify({ event_id: opts.event, watch: status }, null, 2)}\n`);
        else io.stdout.write(`Stopped watching: ${status.sent} sent, ${status.duplicates} duplicate, ${status.skipped} already sent, ${status.failed} failed.\n`);
        if (status.failed > 0) io.setExitCode(1);
        return;
      }
      if (paths.length === 0) throw new Error('Give folders or files to upload, or --watch <folder>');
      const summary: UploadSummary = await uploadFolder(
        { url, apiKey, client, eventId: opts.event, paths, concurrency: opts.concurrency },
        showProgress ? createTerminalReporter(io.stderr) : silent,
      );
      if (!opts.json) io.stdout.write(`${formatUploadSummary(summary)}\n`);

      let processing: ProcessingResult | undefined;
      if (opts.wait && !summary.aborted) processing = await followProcessing(client, opts.event, opts, io);

      if (opts.json) io.stdout.write(`${JSON.stringify({ event_id: opts.event, upload: summary, ...(processing && { processing }) }, null, 2)}\n`);
      const ok = summary.failed.length === 0 && !summary.aborted && (processing?.failures.length ?? 0) === 0;
      if (processing?.timedOut) io.setExitCode(EXIT_WAIT_TIMEOUT);
      else if (!ok) io.setExitCode(1);
    });
}
