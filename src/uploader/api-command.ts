import { InvalidArgumentError, type Command } from 'commander';
import { ApiError, createFacePassClient, type FacePassClient } from './facepass.client.js';
import { waitForProcessing, type ProcessingResult } from './processing.waiter.js';
import { createStatusLine, formatProcessingFailures, formatProcessingProgress, formatProcessingTimeout, type TerminalOutput } from './terminal.reporter.js';

/** Where the command writes and how it reports its exit status; the process by default, captures in tests. */
export interface CommandIo {
  stdout: TerminalOutput;
  stderr: TerminalOutput;
  setExitCode(code: number): void;
  /** Aborts when the user asks to stop (Ctrl-C): ends `--watch` cleanly. */
  interrupted(): AbortSignal;
}

/** The real process: its stdout and stderr, `process.exitCode`, Ctrl-C. */
export const processIo: CommandIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  setExitCode: (code) => {
    process.exitCode = code;
  },
  interrupted: () => {
    const controller = new AbortController();
    // The first Ctrl-C finishes the uploads in flight; a second one is the default: exit now.
    process.once('SIGINT', () => controller.abort());
    process.once('SIGTERM', () => controller.abort());
    return controller.signal;
  },
};

/** Exit code when `--wait-timeout` passed before processing finished (1 means something failed). */
export const EXIT_WAIT_TIMEOUT = 2;

/** The options every command that talks to the API with a photographer's key shares. */
export interface ApiCommandOptions {
  url?: string;
  key?: string;
  json?: boolean;
}

/** Parses a database id (1 … 2^31 − 1) given on the command line. */
export const idArgument = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 2147483647) throw new InvalidArgumentError('expected a positive integer');
  return n;
};

/** Adds `--url`, `--key` and `--json`. */
export function withApiOptions(cmd: Command): Command {
  return (
    cmd
      .option('--url <base>', 'server URL (default: FACEPASS_URL or http://localhost:8000)')
      // No default shown for the key: help output must not print a secret taken from the environment.
      .option('--key <apiKey>', 'photographer API key (default: FACEPASS_API_KEY)')
      .option('--json', 'print JSON')
  );
}

/** The server and key for these options, FACEPASS_URL / FACEPASS_API_KEY filling what was not given. */
export function apiTargetFor(opts: Pick<ApiCommandOptions, 'url' | 'key'>, env: Record<string, string | undefined>): { url: string; apiKey: string } {
  const apiKey = opts.key || env.FACEPASS_API_KEY;
  if (!apiKey) throw new Error('No API key: pass --key <apiKey> or set FACEPASS_API_KEY (facepass photographer create prints one)');
  return { url: opts.url || env.FACEPASS_URL || 'http://localhost:8000', apiKey };
}

/** The API client for these options (see {@link apiTargetFor}). */
export function apiClientFor(opts: ApiCommandOptions, env: Record<string, string | undefined>): FacePassClient {
  return createFacePassClient(apiTargetFor(opts, env));
}

/** Runs an API call, turning the API's error into one line a person can act on (message and status). */
export async function explainApiErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ApiError) throw new Error(`${error.message} (${error.status || 'no answer'})`, { cause: error });
    throw error;
  }
}

/** Whether a command draws progress on stderr: always, except with --json on a pipe, where stderr stays quiet so scripts see only errors there. */
export function showsProgress(opts: { json?: boolean }, io: CommandIo): boolean {
  return !opts.json || io.stderr.isTTY === true;
}

/**
 * `--wait` of `upload` and `retry`: follows the event's processing with a status line on stderr,
 * then prints the final counts and failures on stdout (unless --json) and, at a timeout, the
 * photos still unfinished on stderr. The caller sets the exit code from the result.
 */
export async function followProcessing(client: FacePassClient, eventId: number, opts: { json?: boolean; waitTimeout?: number }, io: CommandIo): Promise<ProcessingResult> {
  const showProgress = showsProgress(opts, io);
  const line = createStatusLine(io.stderr);
  const started = performance.now();
  const processing = await explainApiErrors(() =>
    waitForProcessing(client, eventId, {
      ...(opts.waitTimeout && { timeoutMs: opts.waitTimeout * 1000 }),
      onProgress: (p) => showProgress && line.show(formatProcessingProgress(p), p.complete),
    }),
  ).finally(() => line.end());
  if (!opts.json) {
    // "Every photo was processed" would be untrue at a timeout: only failures are listed then.
    const failures = processing.timedOut && processing.failures.length === 0 ? '' : `${formatProcessingFailures(processing.failures)}\n`;
    io.stdout.write(`${formatProcessingProgress(processing.progress)}\n${failures}`);
  }
  if (processing.timedOut) io.stderr.write(`${formatProcessingTimeout(Math.round((performance.now() - started) / 1000), processing.unfinished)}\n`);
  return processing;
}
