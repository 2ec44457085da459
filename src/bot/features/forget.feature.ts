import { Composer } from 'grammy';
import type { BotContext } from '../context.js';
import type { ParticipantService } from '../../services/participant.service.js';
import { callbackPattern } from '../callback-data.js';
import { forgetKeyboard } from '../keyboards/misc.keyboard.js';

/** `/forget`: after confirmation, deletes everything stored about the participant in both databases. */
export function createForgetFeature(deps: { participants: ParticipantService }): Composer<BotContext> {
  const feature = new Composer<BotContext>();
  feature.command('forget', (ctx) => (ctx.participant ? ctx.reply(ctx.t('forget-ask'), { reply_markup: forgetKeyboard(ctx) }) : ctx.reply(ctx.t('forget-nothing'))));
  feature.callbackQuery(callbackPattern.forget, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (ctx.match[1] === 'no') return ctx.editMessageText(ctx.t('forget-cancelled'));
    if (ctx.participant) {
      await deps.participants.forget(ctx.participant.id);
      ctx.logger.info({ participant: ctx.participant.id }, 'participant forgotten');
    }
    ctx.session.search = undefined;
    return ctx.editMessageText(ctx.t('forget-done'));
  });
  return feature;
}
