import type { MiddlewareFn } from 'grammy';
import type { BaseContext, BotContext, ConversationContext } from '../context.js';
import type { Logger } from '../../logger.js';

/** A child logger carrying the update's id and user. */
const childFor = (logger: Logger, ctx: BaseContext): Logger => logger.child({ update_id: ctx.update.update_id, ...(ctx.from && { user: ctx.from.id }) });

/** Gives each update a child logger carrying its id and user, and logs how long it took. */
export function updateLogger(logger: Logger): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    ctx.logger = childFor(logger, ctx);
    const started = performance.now();
    await next();
    ctx.logger.debug({ ms: Math.round(performance.now() - started) }, 'update handled');
  };
}

/**
 * The same logger inside conversations (a conversation plugin). Conversations replay, so log from
 * inside `conversation.external` to log once.
 */
export function conversationLogger(logger: Logger): MiddlewareFn<ConversationContext> {
  return async (ctx, next) => {
    ctx.logger = childFor(logger, ctx);
    await next();
  };
}
