import { api, csrfHeaders } from './api';

/** Where one file stands. */
export type FileState = 'queued' | 'hashing' | 'uploading' | 'retrying' | 'done' | 'skipped' | 'failed';
export interface UploadItem {
  id: number;
  file: File;
  /** Path inside a dropped folder, for display. */
  path: string;
  state: FileState;
  sent: number;
  attempts: number;
  error?: 'tooLarge' | 'notImage' | string;
}

const PARALLEL = 4;
const MAX_ATTEMPTS = 4;

/** Files of a drop, folders walked recursively (DataTransferItem.webkitGetAsEntry). */
export async function filesFromDrop(transfer: DataTransfer): Promise<{ file: File; path: string }[]> {
  const entries = [...transfer.items].map((i) => (i.kind === 'file' ? i.webkitGetAsEntry?.() : null)).filter((e): e is FileSystemEntry => !!e);
  // Without entries (older browsers, or a DataTransfer built by a script) the plain file list still works.
  if (entries.length === 0) return [...transfer.files].map((file) => ({ file, path: file.name }));
  const out: { file: File; path: string }[] = [];
  const walk = async (entry: FileSystemEntry): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      out.push({ file, path: entry.fullPath.replace(/^\//, '') });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      // readEntries answers in batches (100 in Chromium) until an empty one.
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child);
      }
    }
  };
  for (const entry of entries) await walk(entry);
  return out;
}

async function sha256(file: File): Promise<string | undefined> {
  // crypto.subtle exists only in secure contexts (HTTPS or localhost); elsewhere nothing is skipped.
  if (!globalThis.crypto?.subtle) return undefined;
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The browser's uploader: PARALLEL uploads at a time, per-file and total progress, retries with
 * backoff on network errors and 5xx, clear errors for 413/415, and files the server already has
 * (same SHA-256 in this event) skipped, so a reload and a second drop resume where the first stopped.
 * Into an event without photos nothing can be skipped: files go without hashing (the server still
 * stores identical bytes once).
 */
export function createUploader(eventId: number) {
  // Progress events come by the hundred per second across parallel uploads: listeners hear of them
  // at most every 100 ms, so thousands of files never keep the main thread busy.
  const listeners = new Set<() => void>();
  let scheduled: ReturnType<typeof setTimeout> | undefined;
  const notify = () => {
    clearTimeout(scheduled);
    scheduled = undefined;
    for (const listener of listeners) listener();
  };
  const onChange = () => {
    scheduled ??= setTimeout(notify, 100);
  };
  const items: UploadItem[] = [];
  let known: Set<string> | undefined;
  let running = 0;
  let nextId = 1;
  const samples: { at: number; bytes: number }[] = [];

  const sentBytes = () => items.reduce((s, i) => s + (i.state === 'done' ? i.file.size : i.sent), 0);
  const sample = () => {
    const now = performance.now();
    samples.push({ at: now, bytes: sentBytes() });
    while (samples.length > 2 && now - samples[0]!.at > 5000) samples.shift();
  };

  const send = (item: UploadItem): Promise<{ status: number }> =>
    new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/v1/faces/upload');
      for (const [k, v] of Object.entries(csrfHeaders())) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) => {
        item.sent = e.loaded;
        sample();
        onChange();
      };
      xhr.onload = () => resolve({ status: xhr.status });
      xhr.onerror = () => resolve({ status: 0 });
      const form = new FormData();
      form.append('event_id', String(eventId));
      form.append('file', item.file, item.file.name);
      xhr.send(form);
    });

  const runOne = async (item: UploadItem): Promise<void> => {
    // Hashing costs more than the upload itself in Chromium (the file is read through the browser
    // process): it is only worth it when the event already has photos that could be skipped.
    let hash: string | undefined;
    if (known && known.size > 0) {
      item.state = 'hashing';
      onChange();
      hash = await sha256(item.file).catch(() => undefined);
      if (hash && known.has(hash)) {
        item.state = 'skipped';
        return;
      }
    }
    for (;;) {
      item.attempts++;
      item.state = item.attempts > 1 ? 'retrying' : 'uploading';
      item.sent = 0;
      onChange();
      const { status } = await send(item);
      if (status === 200 || status === 201) {
        item.state = 'done';
        if (hash) known?.add(hash);
        return;
      }
      if (status === 413 || status === 415) {
        item.state = 'failed';
        item.error = status === 413 ? 'tooLarge' : 'notImage';
        return;
      }
      const retryable = status === 0 || status === 429 || status >= 500;
      if (!retryable || item.attempts >= MAX_ATTEMPTS) {
        item.state = 'failed';
        item.error = status === 0 ? 'network' : `HTTP ${status}`;
        return;
      }
      await new Promise((r) => setTimeout(r, 500 * 2 ** item.attempts));
    }
  };

  const pump = () => {
    while (running < PARALLEL) {
      const next = items.find((i) => i.state === 'queued');
      if (!next) break;
      running++;
      void runOne(next).finally(() => {
        running--;
        sample();
        pump();
        // The last file done: said at once, not at the next progress tick.
        if (running === 0) notify();
        else onChange();
      });
    }
    onChange();
  };

  return {
    items,
    /** Calls `listener` after changes (at most every 100 ms); returns the unsubscribe. */
    subscribe(listener: () => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async add(files: { file: File; path: string }[]): Promise<void> {
      // Asked again at every drop: what this page (or another device) uploaded since is skipped too.
      known = new Set(await api.hashes(eventId).catch(() => [...(known ?? [])]));
      for (const { file, path } of files) {
        // Hidden files of dropped folders (.DS_Store, ._x.jpg) are not photos; anything else goes, and the server judges it.
        if (file.name.startsWith('.')) continue;
        items.push({ id: nextId++, file, path, state: 'queued', sent: 0, attempts: 0 });
      }
      pump();
    },
    retry(id: number): void {
      const item = items.find((i) => i.id === id);
      if (!item || item.state !== 'failed') return;
      item.state = 'queued';
      item.attempts = 0;
      item.error = undefined;
      pump();
    },
    /** Totals for the progress bar: bytes, speed over the last seconds, ETA. */
    totals() {
      const total = items.reduce((s, i) => s + (i.state === 'skipped' ? 0 : i.file.size), 0);
      const sent = sentBytes();
      const first = samples[0];
      const last = samples[samples.length - 1];
      const speed = first && last && last.at > first.at ? ((last.bytes - first.bytes) / (last.at - first.at)) * 1000 : 0;
      const count = (s: FileState) => items.filter((i) => i.state === s).length;
      const active = running > 0 || count('queued') > 0;
      return { total, sent, speed, eta: speed > 0 && active ? (total - sent) / speed : null, active, done: count('done'), skipped: count('skipped'), failed: count('failed'), files: items.length };
    },
  };
}
export type Uploader = ReturnType<typeof createUploader>;
