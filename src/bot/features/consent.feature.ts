import { Composer } from 'grammy';
import type { BotContext, BotConversation, ConversationContext } from '../context.js';
import type { ParticipantService } from '../../services/participant.service.js';
import { callbackData, callbackPattern } from '../callback-data.js';
import { consentKeyboard } from '../keyboards/consent.keyboard.js';
import { CONVERSATION, enterConversation, waitForButton } from '../conversations.js';

/** Asks for consent, then waits for the answer: the selfie search only starts after it is stored. */
export const askConsent = (ctx: BotContext, intro?: string): Promise<void> => enterConversation(ctx, CONVERSATION.consent, intro);

/**
 * The consent conversation (entered by `askConsent` on /start or on a selfie without consent):
 * explains what is processed, kept and how to delete it, and waits for "I agree" or "Decline".
 * Anything else but menu commands and other buttons is answered with the request again, so no
 * selfie is processed before consent. Consent is stored on the participant, so it is asked once.
 */
export function createConsentConversation(deps: { participants: ParticipantService }) {
  return async function consent(conversation: BotConversation, ctx: ConversationContext, intro?: string): Promise<void> {
    const request = (c: ConversationContext) => c.reply(c.t('consent-request'), { reply_markup: consentKeyboard(c) });
    if (intro) await ctx.reply(`${intro}\n\n${ctx.t('consent-request')}`, { reply_markup: consentKeyboard(ctx) });
    else await request(ctx);

    const answer = await waitForButton(conversation, callbackPattern.consent, request);
    await answer.answerCallbackQuery();
    const participant = answer.participant;
    if (!participant) {
      await answer.reply(answer.t('no-event'));
      return;
    }
    if (answer.callbackQuery.data !== callbackData.consent('yes')) {
      await answer.editMessageText(answer.t('consent-declined'));
      return;
    }
    if (!participant.consent_at) {
      await conversation.external(async () => {
        await deps.participants.giveConsent(participant.id);
        answer.logger.info({ participant: participant.id }, 'consent given');
      });
    }
    await answer.editMessageText(answer.t('consent-given'));
  };
}

/** Consent buttons outside the conversation (a leftover message, or state dropped by a new version). */
export function createConsentFeature(): Composer<BotContext> {
  const feature = new Composer<BotContext>();
  feature.callbackQuery(callbackPattern.consent, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.participant) return ctx.reply(ctx.t('no-event'));
    if (ctx.participant.consent_at) return ctx.editMessageText(ctx.t('consent-given'));
    if (ctx.match[1] === 'no') return ctx.editMessageText(ctx.t('consent-declined'));
    // Asked afresh rather than taken from an old message: the answer belongs to the conversation.
    return askConsent(ctx);
  });
  return feature;
}
