import { GrammyError, InputFile, InputMediaBuilder, type Api } from 'grammy';
import type { InlineKeyboardMarkup, Message, PhotoSize } from 'grammy/types';
import type { TelegramFileKind, TelegramFileRepository } from '../repositories/telegram-file.repository.js';
import type { Metrics } from '../observability/metrics.js';

/** A photo to send: its id and its bytes, read only when Telegram has no file_id of it yet. */
export interface OutgoingFile {
  faceId: number;
  bytes: () => Promise<Buffer>;
  /** The file name Telegram shows. @defaultValue `photo-<faceId>.jpg` */
  name?: string;
}

/** grammY types its signal with the abort-controller shim; Node's own AbortSignal works the same (duck-typed). */
export type ApiSignal = Parameters<Api['sendMessage']>[3];

/**
 * Telegram's answers to a file_id it does not know (another bot's, or one it dropped). Anything
 * else (a 400 for the caption, a 403, a network error) is not about the cache and is thrown.
 */
const isUnknownFileId = (error: unknown): boolean =>
  error instanceof GrammyError &&
  error.error_code === 400 &&
  /wrong file identifier|wrong remote file identifier|file reference|FILE_ID_INVALID|MEDIA_EMPTY|wrong type of the web page content|failed to get HTTP URL content/i.test(
    error.description,
  );

/** The file_id Telegram gave the largest size of a sent photo. */
const largestPhoto = (sizes: PhotoSize[] | undefined): string | undefined =>
  sizes?.reduce((best, size) => (size.width * size.height >= best.width * best.height ? size : best)).file_id;

/**
 * Sends previews (as photos or albums) and originals (as documents) by their cached Telegram
 * file_id when there is one, uploading the bytes only for the others and caching the file_id
 * Telegram answers with: a photo delivered to 200 participants is uploaded once. When Telegram
 * refuses a cached file_id, the files are uploaded again and the cache refreshed. Without a
 * repository, every send uploads. `metrics` counts files sent by upload and by file_id.
 */
export function createCachedFileSender(fileIds: TelegramFileRepository | undefined, metrics?: Pick<Metrics, 'telegramFiles'>) {
  /** Sends `files` by reference where cached; caches the ids of those uploaded (`idsOf` reads them from the answer). */
  async function send<T>(
    eventId: number,
    kind: TelegramFileKind,
    files: OutgoingFile[],
    call: (refs: (InputFile | string)[]) => Promise<T>,
    idsOf: (answer: T) => (string | undefined)[],
  ): Promise<T> {
    const cached = fileIds ? await fileIds.get(eventId, kind, files.map((f) => f.faceId)) : new Map<number, string>();
    const refs = (): Promise<(InputFile | string)[]> =>
      Promise.all(files.map(async (f) => cached.get(f.faceId) ?? new InputFile(await f.bytes(), f.name ?? `photo-${f.faceId}.jpg`)));
    let answer: T;
    try {
      answer = await call(await refs());
    } catch (error) {
      if (cached.size === 0 || !isUnknownFileId(error)) throw error;
      // Which id of an album was refused is not said: upload them all again (and cache the new ids).
      await fileIds!.forget(eventId, kind, [...cached.keys()]);
      cached.clear();
      answer = await call(await refs());
    }
    metrics?.telegramFiles.inc({ kind, via: 'file_id' }, cached.size);
    metrics?.telegramFiles.inc({ kind, via: 'upload' }, files.length - cached.size);
    if (fileIds) {
      const sent = idsOf(answer);
      const fresh = new Map(files.flatMap((f, i) => (!cached.has(f.faceId) && sent[i] ? [[f.faceId, sent[i]] as const] : [])));
      // The message is sent: a failed cache write must not make the caller send it again.
      await fileIds.set(eventId, kind, fresh).catch(() => undefined);
    }
    return answer;
  }

  return {
    /** One photo (with `caption` and `reply_markup`), or an album of 2–10 captioned on its first item. */
    async sendPhotos(
      api: Api,
      chatId: number,
      eventId: number,
      photos: OutgoingFile[],
      options: { caption?: string; reply_markup?: InlineKeyboardMarkup; signal?: ApiSignal } = {},
    ): Promise<void> {
      const { caption, reply_markup, signal } = options;
      if (photos.length === 0) return;
      if (photos.length === 1) {
        await send(
          eventId,
          'preview',
          photos,
          ([ref]) => api.sendPhoto(chatId, ref!, { ...(caption && { caption }), ...(reply_markup && { reply_markup }) }, signal),
          (message) => [largestPhoto(message.photo)],
        );
        return;
      }
      await send(
        eventId,
        'preview',
        photos,
        (refs) => api.sendMediaGroup(chatId, refs.map((ref, i) => InputMediaBuilder.photo(ref, i === 0 && caption ? { caption } : {})), {}, signal),
        (messages: Message[]) => messages.map((m) => largestPhoto(m.photo)),
      );
    },

    /** A photo's original as a document. */
    async sendOriginal(api: Api, chatId: number, eventId: number, original: OutgoingFile): Promise<void> {
      await send(eventId, 'original', [original], ([ref]) => api.sendDocument(chatId, ref!), (message) => [message.document.file_id]);
    },
  };
}
export type CachedFileSender = ReturnType<typeof createCachedFileSender>;
