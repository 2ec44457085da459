import { Composer } from 'grammy';
import type { BotContext } from '../context.js';

/** Last in the chain: anything no feature took (stray text, stale or malformed buttons). */
export function createUnhandledFeature(): Composer<BotContext> {
  const feature = new Composer<BotContext>();
  feature.on('callback_query', (ctx) => ctx.answerCallbackQuery());
  feature.chatType('private').on('message', (ctx) => ctx.reply(ctx.t('unhandled')));
  return feature;
}
