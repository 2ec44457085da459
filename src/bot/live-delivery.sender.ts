import { Api, GrammyError, InputFile } from 'grammy';
import { autoRetry } from '@grammyjs/auto-retry';
import { apiThrottler } from '@grammyjs/transformer-throttler';
import type { LivePhotoSender } from '../services/live-delivery.service.js';
import { createI18n, toLanguage } from './i18n.js';
import { originalKeyboard } from './keyboards/results.keyboard.js';

/**
 * Sends live-delivered photos from the worker process through the Bot API (no polling, just calls).
 * A burst of uploads becomes a burst of sends: the throttler keeps it within Telegram's limits (about
 * 30 messages per second overall, one per second per chat) and auto-retry waits out a 429 anyway.
 * The throttler's timers are unref'd and only pending while a send waits, so nothing needs closing.
 */
export function createTelegramLiveSender(options: { token: string; apiRoot: string }): LivePhotoSender {
  const api = new Api(options.token, { apiRoot: options.apiRoot });
  api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 60 }));
  api.config.use(apiThrottler());
  const i18n = createI18n();
  return {
    async send(to, photo, event) {
      const language = toLanguage(to.language);
      try {
        await api.sendPhoto(to.telegram_user_id, new InputFile(photo.preview, `photo-${photo.faceId}.jpg`), {
          caption: i18n.t(language, 'live-new-photo', { name: event.name }),
          reply_markup: originalKeyboard(i18n.t(language, 'original-button'), photo.faceId),
        });
        return 'sent';
      } catch (error) {
        // Blocked bot, deleted account or chat: retrying cannot help.
        if (error instanceof GrammyError && (error.error_code === 403 || /chat not found/i.test(error.description))) return 'unreachable';
        throw error;
      }
    },
  };
}
