import { InlineKeyboard } from 'grammy';
import type { BaseContext } from '../context.js';
import { callbackData } from '../callback-data.js';

/** Agree / decline to biometric processing. */
export const consentKeyboard = (ctx: Pick<BaseContext, 't'>): InlineKeyboard =>
  new InlineKeyboard().text(ctx.t('consent-agree'), callbackData.consent('yes')).text(ctx.t('consent-decline'), callbackData.consent('no'));
