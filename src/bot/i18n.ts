import { fileURLToPath } from 'node:url';
import { I18n } from '@grammyjs/i18n';
import type { BaseContext } from './context.js';

/** Languages the bot speaks; the first is the fallback. */
export const LANGUAGES = ['en', 'ru'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Maps a Telegram language_code (or a stored choice) to a language the bot speaks. */
export function toLanguage(code: string | null | undefined): Language {
  return code?.toLowerCase().startsWith('ru') ? 'ru' : 'en';
}

/**
 * Fluent translations from `locales/*.ftl`; the participant's stored choice wins over Telegram's language.
 * The same instance serves the handlers and, as a conversation plugin, the conversations.
 */
export function createI18n(): I18n<BaseContext> {
  const i18n = new I18n<BaseContext>({
    defaultLocale: 'en',
    useSession: false,
    // Unicode isolation marks around variables only confuse Telegram clients and tests.
    fluentBundleOptions: { useIsolating: false },
    localeNegotiator: (ctx) => toLanguage(ctx.participant?.language ?? ctx.from?.language_code),
  });
  // Next to this module, in the sources and in the build (which copies them: scripts/copy-build-assets.js).
  i18n.loadLocalesDirSync(fileURLToPath(new URL('./locales', import.meta.url)));
  return i18n;
}

/** An event date in the reader's language, or undefined. */
export function formatDate(date: Date | null, language: string): string | undefined {
  return date ? new Intl.DateTimeFormat(language === 'ru' ? 'ru-RU' : 'en-GB', { dateStyle: 'long', timeZone: 'UTC' }).format(date) : undefined;
}
