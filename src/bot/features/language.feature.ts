import { Composer } from 'grammy';
import type { BotContext } from '../context.js';
import type { ParticipantService } from '../../services/participant.service.js';
import { callbackPattern } from '../callback-data.js';
import { languageKeyboard } from '../keyboards/misc.keyboard.js';

/** `/language`: the choice is stored on the participant and wins over Telegram's language. */
export function createLanguageFeature(deps: { participants: ParticipantService }): Composer<BotContext> {
  const feature = new Composer<BotContext>();
  feature.command('language', (ctx) => ctx.reply(ctx.t('language-choose'), { reply_markup: languageKeyboard() }));
  feature.callbackQuery(callbackPattern.language, async (ctx) => {
    await ctx.answerCallbackQuery();
    const language = ctx.match[1]!;
    if (ctx.participant) {
      await deps.participants.setLanguage(ctx.participant.id, language);
      ctx.participant.language = language;
    }
    ctx.i18n.useLocale(language);
    return ctx.editMessageText(ctx.t('language-set'));
  });
  return feature;
}
