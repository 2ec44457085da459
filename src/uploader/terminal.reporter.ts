import type { UploadProgress, UploadReporter, UploadSummary } from './folder.uploader.js';
import type { WatchReporter, WatchStatus } from './folder.watcher.js';
import { displayPath } from './folder.uploader.js';
import type { EventProgressAnswer, FailedPhoto, UnfinishedPhoto } from './facepass.client.js';

/** Where the reporter writes: process.stderr, or a capture in tests. */
export interface TerminalOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Options of {@link createTerminalReporter}. */
export interface TerminalReporterOptions {
  /** Redraws at most this often on a TTY. @defaultValue 100 */
  ttyIntervalMs?: number;
  /** Prints a plain line at most this often when not a TTY (logs, CI). @defaultValue 5000 */
  plainIntervalMs?: number;
  /** Clock in ms. @defaultValue performance.now */
  now?: () => number;
}

const MB = 1024 * 1024;
const mb = (bytes: number): string => (bytes / MB).toFixed(1);

/** Seconds as m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** One progress line: files, MB, rate, ETA. */
export function formatUploadProgress(p: UploadProgress): string {
  const rate = p.elapsedSeconds > 0 ? p.bytesUploaded / p.elapsedSeconds : 0;
  const remaining = p.bytesTotal - p.bytesDone;
  const eta = remaining === 0 ? '0:00' : rate > 0 ? formatDuration(remaining / rate) : '–';
  const extra = [p.skipped && `${p.skipped} already there`, p.duplicates && `${p.duplicates} duplicate`, p.failed && `${p.failed} failed`].filter(Boolean);
  return (
    `Uploading ${p.filesDone}/${p.filesTotal} files  ${mb(p.bytesDone)}/${mb(p.bytesTotal)} MB  ${mb(rate)} MB/s  ETA ${eta}` +
    (extra.length ? `  (${extra.join(', ')})` : '')
  );
}

/** One processing line: processed/total, faces, rate, ETA. */
export function formatProcessingProgress(p: EventProgressAnswer): string {
  const finished = p.done + p.failed;
  const eta = p.complete ? '0:00' : p.eta_seconds === null ? '–' : formatDuration(p.eta_seconds);
  return (
    `Processing ${finished}/${p.total} photos  ${p.faces} faces  ${p.photos_per_minute} photos/min  ETA ${eta}` +
    (p.failed ? `  (${p.failed} failed)` : '')
  );
}

/** The human summary printed after an upload. */
export function formatUploadSummary(s: UploadSummary): string {
  const rate = s.seconds > 0 ? s.bytes / s.seconds : 0;
  const parts = [
    `Uploaded ${s.uploaded} new photo${s.uploaded === 1 ? '' : 's'} (${mb(s.bytes)} MB in ${s.seconds.toFixed(1)} s, ${mb(rate)} MB/s)`,
    s.skipped && `${s.skipped} already on the server`,
    s.duplicates && `${s.duplicates} duplicate${s.duplicates === 1 ? '' : 's'}`,
    s.ignored && `${s.ignored} not image${s.ignored === 1 ? '' : 's'} (ignored)`,
  ].filter(Boolean);
  const lines = [`${parts.join('; ')}.`];
  if (s.aborted) lines.push(`Stopped early: ${s.aborted}${s.notAttempted ? ` ${s.notAttempted} file(s) not tried.` : ''}`);
  if (s.failed.length) {
    lines.push(`Failed (${s.failed.length}):`);
    for (const f of s.failed) lines.push(`  ${displayPath(f.file)}: ${f.status ? `${f.status} ` : ''}${f.reason}`);
  }
  return lines.join('\n');
}

/** The processing failures listed after --wait. */
export function formatProcessingFailures(failures: FailedPhoto[]): string {
  if (failures.length === 0) return 'Every photo was processed.';
  return [`Processing failed for ${failures.length} photo(s):`, ...failures.map((f) => `  ${f.original_name ?? `photo #${f.id}`}: ${f.error ?? 'unknown error'}`)].join('\n');
}

/** The message of `--wait-timeout`: how long was waited and every photo still unfinished. */
export function formatProcessingTimeout(seconds: number, unfinished: UnfinishedPhoto[]): string {
  return [
    `Gave up waiting after ${seconds} s (--wait-timeout): ${unfinished.length} photo(s) not processed yet:`,
    ...unfinished.map((p) => `  ${p.original_name ?? `photo #${p.id}`}: ${p.status}`),
    'They stay queued on the server; run again with --wait to follow them.',
  ].join('\n');
}

/** A live status line: redrawn in place on a TTY, printed as plain periodic lines otherwise. */
export function createStatusLine(out: TerminalOutput, options: TerminalReporterOptions = {}) {
  const now = options.now ?? (() => performance.now());
  const interval = out.isTTY ? (options.ttyIntervalMs ?? 100) : (options.plainIntervalMs ?? 5000);
  let last = -Infinity;
  let drawn = false;
  let pending: string | undefined;
  const draw = (line: string): void => {
    // \r + erase-to-end-of-line keeps one line that updates in place.
    out.write(out.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
    drawn = true;
    pending = undefined;
    last = now();
  };
  return {
    /** Shows the line now if the interval has passed (or `force`), else keeps it for later. */
    show(line: string, force = false): void {
      if (force || now() - last >= interval) draw(line);
      else pending = line;
    },
    /** Draws the latest line if it was held back, and ends the TTY line. */
    end(): void {
      if (pending !== undefined) draw(pending);
      if (out.isTTY && drawn) out.write('\n');
      drawn = false;
    },
    /** Prints a message on its own line without breaking the status line. */
    note(message: string): void {
      out.write(out.isTTY && drawn ? `\r${message}\x1b[K\n` : `${message}\n`);
      if (out.isTTY && drawn) last = -Infinity;
    },
  };
}

/** The upload progress display: a single updating line on a TTY, plain periodic lines otherwise. */
export function createTerminalReporter(out: TerminalOutput, options: TerminalReporterOptions = {}): UploadReporter {
  const line = createStatusLine(out, options);
  return {
    start: (p) => line.show(formatUploadProgress(p), true),
    update: (p) => line.show(formatUploadProgress(p), p.filesDone === p.filesTotal),
    retrying: (file, attempt, reason) => line.note(`Retrying ${displayPath(file)} (attempt ${attempt} failed: ${reason})`),
    finish: () => line.end(),
  };
}

/** The hot folder's line: what was sent, what is in flight, and the last file with its age. */
export function formatWatchStatus(s: WatchStatus, nowMs: number = Date.now()): string {
  const extra = [s.duplicates && `${s.duplicates} duplicate`, s.skipped && `${s.skipped} already sent`, s.failed && `${s.failed} failed`].filter(Boolean);
  const last = s.lastFile && s.lastAt !== undefined ? `  last: ${s.lastFile} ${formatDuration((nowMs - s.lastAt) / 1000)} ago` : '';
  return (
    `${s.ready ? 'Watching' : 'Scanning'} ${displayPath(s.folder)} → event ${s.eventId}: ${s.sent} sent, ${s.pending} uploading` +
    (extra.length ? `  (${extra.join(', ')})` : '') +
    last
  );
}

/** The hot folder's live status line; notes (failures, retries) go on lines of their own. */
export function createWatchReporter(out: TerminalOutput, options: TerminalReporterOptions = {}): WatchReporter & { end(): void } {
  const line = createStatusLine(out, options);
  return {
    status: (s) => line.show(formatWatchStatus(s)),
    note: (message) => line.note(message),
    end: () => line.end(),
  };
}
