import { Composer } from 'grammy';
import type { BotContext } from '../context.js';

/** `/help`. */
export function createHelpFeature(): Composer<BotContext> {
  const feature = new Composer<BotContext>();
  feature.command('help', (ctx) => ctx.reply(ctx.t('help')));
  return feature;
}
