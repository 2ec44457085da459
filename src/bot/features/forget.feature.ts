import { Composer } from 'grammy';
import type { BotContext, BotConversation, ConversationContext } from '../context.js';
import type { ParticipantService } from '../../services/participant.service.js';
import { callbackData, callbackPattern } from '../callback-data.js';
import { forgetKeyboard } from '../keyboards/misc.keyboard.js';
import { CONVERSATION, enterConversation, waitForButton } from '../conversations.js';

/**
 * The /forget conversation: asks for confirmation, then deletes everything stored about the
 * participant in both databases (selfie embeddings, joins, subscriptions, deliveries; the audit
 * log is anonymised) and the chat's search results. Other messages get the question again.
 */
export function createForgetConversation(deps: { participants: ParticipantService }) {
  return async function forget(conversation: BotConversation, ctx: ConversationContext): Promise<void> {
    const ask = (c: ConversationContext) => c.reply(c.t('forget-ask'), { reply_markup: forgetKeyboard(c) });
    await ask(ctx);
    const answer = await waitForButton(conversation, callbackPattern.forget, ask);
    await answer.answerCallbackQuery();
    const hide = answer.callbackQuery.data === callbackData.forget('hide');
    if (answer.callbackQuery.data !== callbackData.forget('yes') && !hide) {
      await answer.editMessageText(answer.t('forget-cancelled'));
      return;
    }
    const participant = answer.participant;
    const hiddenIn = await conversation.external(async (outer) => {
      let hidden = 0;
      if (participant) {
        if (hide) hidden = await deps.participants.forgetAndHide(participant);
        else await deps.participants.forget(participant.id);
        answer.logger.info({ participant: participant.id, hiddenIn: hidden }, 'participant forgotten');
      }
      outer.session.search = undefined;
      return hidden;
    });
    await answer.editMessageText(hide ? answer.t('forget-done-hidden', { events: hiddenIn }) : answer.t('forget-done'));
  };
}

/** `/forget` enters the conversation; its buttons outside it (a leftover message) ask again. */
export function createForgetFeature(): Composer<BotContext> {
  const feature = new Composer<BotContext>();
  const start = (ctx: BotContext) => (ctx.participant ? enterConversation(ctx, CONVERSATION.forget) : ctx.reply(ctx.t('forget-nothing')));
  feature.command('forget', start);
  feature.callbackQuery(callbackPattern.forget, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (ctx.match[1] === 'no') return ctx.editMessageText(ctx.t('forget-cancelled'));
    return start(ctx);
  });
  return feature;
}
