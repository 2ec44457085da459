import { InlineKeyboard } from 'grammy';
import type { BaseContext } from '../context.js';
import { callbackData } from '../callback-data.js';
import type { ParticipantEvent } from '../../repositories/participant.repository.js';

/** Confirm or cancel /forget. */
export const forgetKeyboard = (ctx: Pick<BaseContext, 't'>): InlineKeyboard =>
  new InlineKeyboard()
    .text(ctx.t('forget-confirm'), callbackData.forget('yes'))
    .row()
    // Issue #15: also hide the person their selfie matched from other people's searches in the event.
    .text(ctx.t('forget-confirm-hide'), callbackData.forget('hide'))
    .row()
    .text(ctx.t('forget-cancel'), callbackData.forget('no'));

/** One button per joined event; the active one is marked. */
export function eventsKeyboard(events: ParticipantEvent[], activeEventId: number | null): InlineKeyboard {
  const kb = new InlineKeyboard();
  for (const e of events.filter((x) => x.is_active)) kb.text(`${e.event_id === activeEventId ? '✅ ' : ''}${e.name}`.slice(0, 60), callbackData.event(e.event_id)).row();
  return kb;
}

export const languageKeyboard = (): InlineKeyboard =>
  new InlineKeyboard().text('English', callbackData.language('en')).text('Русский', callbackData.language('ru'));
