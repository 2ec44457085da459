import { InlineKeyboard } from 'grammy';
import type { BaseContext } from '../context.js';
import { callbackData } from '../callback-data.js';

/** Under a page of results: one "original" button per photo, "show more", and the live-delivery offer. */
export function resultsKeyboard(ctx: Pick<BaseContext, 't'>, page: { faceIds: number[]; firstNumber: number; hasMore: boolean; offerLive: boolean }): InlineKeyboard {
  const kb = new InlineKeyboard();
  page.faceIds.forEach((faceId, i) => {
    kb.text(`📄 ${page.firstNumber + i}`, callbackData.original(faceId));
    if (i % 5 === 4) kb.row();
  });
  if (page.faceIds.length % 5 !== 0) kb.row();
  if (page.hasMore) kb.text(ctx.t('results-more'), callbackData.more()).row();
  if (page.offerLive) kb.text(ctx.t('live-offer'), callbackData.live());
  return kb;
}

/** Under a live-delivered photo: its original. */
export const originalKeyboard = (label: string, faceId: number): InlineKeyboard => new InlineKeyboard().text(label, callbackData.original(faceId));
