import { Api, GrammyError } from 'grammy';
import { autoRetry } from '@grammyjs/auto-retry';
import { apiThrottler } from '@grammyjs/transformer-throttler';
import { LIVE_SEND_TIMEOUT_MS, type LivePhotoSender } from '../services/live-delivery.service.js';
import { createI18n, toLanguage } from './i18n.js';
import { originalKeyboard, originalsKeyboard } from './keyboards/results.keyboard.js';
import type { TelegramFileRepository } from '../repositories/telegram-file.repository.js';
import { createCachedFileSender, type ApiSignal } from './cached-file.sender.js';
import type { Metrics } from '../observability/metrics.js';

/** Blocked bot, deleted account or chat: retrying cannot help. */
const isUnreachable = (error: unknown): boolean =>
  error instanceof GrammyError && (error.error_code === 403 || /chat not found|user is deactivated/i.test(error.description));

/** Aborts a send, auto-retries included, once it has taken LIVE_SEND_TIMEOUT_MS. */
const deadline = (): AbortSignal => AbortSignal.timeout(LIVE_SEND_TIMEOUT_MS);
/** grammY types its signal with the abort-controller shim; Node's own AbortSignal works the same (duck-typed). */
const forApi = (signal: AbortSignal): ApiSignal => signal as unknown as ApiSignal;

/** Rejects with the signal's reason once it aborts, if `work` has not settled by then. */
const within = <T>(work: Promise<T>, signal: AbortSignal): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(signal.reason as Error);
    if (signal.aborted) {
      abort();
      return;
    }
    signal.addEventListener('abort', abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });

/**
 * Sends live-delivered photos from the worker process through the Bot API (no polling, just calls),
 * as the search results are shown: an album of previews, then a message with one "original" button
 * per photo (a single photo carries its button itself). The throttler keeps bursts within Telegram's
 * limits (about 30 messages per second overall, one per second per chat) and auto-retry waits out a
 * 429 anyway. Each send gives up after LIVE_SEND_TIMEOUT_MS (auto-retry would retry a network
 * error forever; the previews it has to upload are read within the same deadline), so its claim
 * never outlives the lease. The throttler's timers are unref'd and only
 * pending while a send waits, so nothing needs closing. A preview Telegram already has (sent in a
 * search or to another participant) goes by its cached file_id instead of being uploaded again.
 */
export function createTelegramLiveSender(options: {
  token: string;
  apiRoot: string;
  /** Telegram file_ids of photos already uploaded; without it every send uploads. */
  fileIds?: TelegramFileRepository;
  /** Counts photos sent, failed and unreachable, and uploads against file_id reuses. */
  metrics?: Pick<Metrics, 'liveDeliveries' | 'telegramFiles'>;
}): LivePhotoSender {
  const { metrics } = options;
  const api = new Api(options.token, { apiRoot: options.apiRoot });
  api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 60 }));
  api.config.use(apiThrottler());
  const i18n = createI18n();
  const files = createCachedFileSender(options.fileIds, metrics);
  return {
    async sendPhotos(to, photos, event) {
      const language = toLanguage(to.language);
      const caption = i18n.t(language, 'live-new-photo', { name: event.name, count: photos.length });
      // One deadline for the whole send: preview reads, auto-retries and a re-upload of refused file_ids.
      const signal = deadline();
      try {
        const [first] = photos;
        if (!first) return 'sent';
        await files.sendPhotos(
          api,
          to.telegram_user_id,
          event.id,
          photos.map((p) => ({ faceId: p.faceId, bytes: () => within(p.preview(), signal) })),
          {
            caption,
            // A single photo carries its "original" button; an album cannot (sendOriginalButtons follows it).
            ...(photos.length === 1 && { reply_markup: originalKeyboard(i18n.t(language, 'original-button'), first.faceId) }),
            signal: forApi(signal),
          },
        );
        metrics?.liveDeliveries.inc({ outcome: 'sent' }, photos.length);
        return 'sent';
      } catch (error) {
        const unreachable = isUnreachable(error);
        metrics?.liveDeliveries.inc({ outcome: unreachable ? 'unreachable' : 'failed' }, photos.length);
        if (unreachable) return 'unreachable';
        throw error;
      }
    },

    async sendOriginalButtons(to, faceIds) {
      const language = toLanguage(to.language);
      try {
        await api.sendMessage(
          to.telegram_user_id,
          i18n.t(language, 'live-originals', { count: faceIds.length }),
          { reply_markup: originalsKeyboard(faceIds) },
          forApi(deadline()),
        );
        return 'sent';
      } catch (error) {
        if (isUnreachable(error)) return 'unreachable';
        throw error;
      }
    },
  };
}
