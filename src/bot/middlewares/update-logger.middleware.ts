import type { MiddlewareFn } from 'grammy';
import type { BotContext } from '../context.js';
import type { Logger } from '../../logger.js';

/** Gives each update a child logger carrying its id and user, and logs how long it took. */
export function updateLogger(logger: Logger): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    ctx.logger = logger.child({ update_id: ctx.update.update_id, ...(ctx.from && { user: ctx.from.id }) });
    const started = performance.now();
    await next();
    ctx.logger.debug({ ms: Math.round(performance.now() - started) }, 'update handled');
  };
}
