import { InlineKeyboard } from 'grammy';
import type { BotContext } from '../context.js';
import { callbackData } from '../callback-data.js';

/** Agree / decline to biometric processing. */
export const consentKeyboard = (ctx: BotContext): InlineKeyboard =>
  new InlineKeyboard().text(ctx.t('consent-agree'), callbackData.consent('yes')).text(ctx.t('consent-decline'), callbackData.consent('no'));
