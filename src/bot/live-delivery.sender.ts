import { Api, GrammyError, InputFile, InputMediaBuilder } from 'grammy';
import { autoRetry } from '@grammyjs/auto-retry';
import { apiThrottler } from '@grammyjs/transformer-throttler';
import { LIVE_SEND_TIMEOUT_MS, type LivePhotoSender } from '../services/live-delivery.service.js';
import { createI18n, toLanguage } from './i18n.js';
import { originalKeyboard, originalsKeyboard } from './keyboards/results.keyboard.js';

/** Blocked bot, deleted account or chat: retrying cannot help. */
const isUnreachable = (error: unknown): boolean =>
  error instanceof GrammyError && (error.error_code === 403 || /chat not found|user is deactivated/i.test(error.description));

/** grammY types its signal with the abort-controller shim; Node's own AbortSignal works the same (duck-typed). */
type ApiSignal = Parameters<Api['sendMessage']>[3];
/** Aborts a send, auto-retries included, once it has taken LIVE_SEND_TIMEOUT_MS. */
const deadline = (): ApiSignal => AbortSignal.timeout(LIVE_SEND_TIMEOUT_MS) as unknown as ApiSignal;

/**
 * Sends live-delivered photos from the worker process through the Bot API (no polling, just calls),
 * as the search results are shown: an album of previews, then a message with one "original" button
 * per photo (a single photo carries its button itself). The throttler keeps bursts within Telegram's
 * limits (about 30 messages per second overall, one per second per chat) and auto-retry waits out a
 * 429 anyway. Each send gives up after LIVE_SEND_TIMEOUT_MS (auto-retry would retry a network
 * error forever), so its claim never outlives the lease. The throttler's timers are unref'd and only
 * pending while a send waits, so nothing needs closing.
 */
export function createTelegramLiveSender(options: { token: string; apiRoot: string }): LivePhotoSender {
  const api = new Api(options.token, { apiRoot: options.apiRoot });
  api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 60 }));
  api.config.use(apiThrottler());
  const i18n = createI18n();
  return {
    async sendPhotos(to, photos, event) {
      const language = toLanguage(to.language);
      const caption = i18n.t(language, 'live-new-photo', { name: event.name, count: photos.length });
      const file = (p: (typeof photos)[number]): InputFile => new InputFile(p.preview, `photo-${p.faceId}.jpg`);
      try {
        const [first] = photos;
        if (!first) return 'sent';
        if (photos.length === 1) {
          await api.sendPhoto(
            to.telegram_user_id,
            file(first),
            { caption, reply_markup: originalKeyboard(i18n.t(language, 'original-button'), first.faceId) },
            deadline(),
          );
        } else {
          await api.sendMediaGroup(
            to.telegram_user_id,
            photos.map((p, i) => InputMediaBuilder.photo(file(p), i === 0 ? { caption } : {})),
            {},
            deadline(),
          );
        }
        return 'sent';
      } catch (error) {
        if (isUnreachable(error)) return 'unreachable';
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
          deadline(),
        );
        return 'sent';
      } catch (error) {
        if (isUnreachable(error)) return 'unreachable';
        throw error;
      }
    },
  };
}
