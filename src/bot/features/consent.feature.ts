import { Composer } from 'grammy';
import type { BotContext } from '../context.js';
import type { ParticipantService } from '../../services/participant.service.js';
import { callbackPattern } from '../callback-data.js';

/** The consent buttons. Consent is stored on the participant, so it is asked once. */
export function createConsentFeature(deps: { participants: ParticipantService }): Composer<BotContext> {
  const feature = new Composer<BotContext>();
  feature.callbackQuery(callbackPattern.consent, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.participant) return ctx.reply(ctx.t('no-event'));
    if (ctx.match[1] === 'no') return ctx.editMessageText(ctx.t('consent-declined'));
    if (!ctx.participant.consent_at) {
      await deps.participants.giveConsent(ctx.participant.id);
      ctx.logger.info({ participant: ctx.participant.id }, 'consent given');
    }
    return ctx.editMessageText(ctx.t('consent-given'));
  });
  return feature;
}
