import { InlineKeyboard } from 'grammy';
import type { BaseContext } from '../context.js';
import { callbackData } from '../callback-data.js';

/** One "original" button per photo of an album, numbered from `firstNumber`, five to a row. */
function addOriginalButtons(kb: InlineKeyboard, faceIds: number[], firstNumber: number): InlineKeyboard {
  faceIds.forEach((faceId, i) => {
    kb.text(`📄 ${firstNumber + i}`, callbackData.original(faceId));
    if (i % 5 === 4) kb.row();
  });
  if (faceIds.length % 5 !== 0) kb.row();
  return kb;
}

/** Under a page of results: one "original" button per photo, "show more", and the live-delivery offer. */
export function resultsKeyboard(ctx: Pick<BaseContext, 't'>, page: { faceIds: number[]; firstNumber: number; hasMore: boolean; offerLive: boolean }): InlineKeyboard {
  const kb = addOriginalButtons(new InlineKeyboard(), page.faceIds, page.firstNumber);
  if (page.hasMore) kb.text(ctx.t('results-more'), callbackData.more()).row();
  if (page.offerLive) kb.text(ctx.t('live-offer'), callbackData.live());
  return kb;
}

/** After a live-delivered album: the originals of its photos, numbered in album order, as under search results. */
export const originalsKeyboard = (faceIds: number[]): InlineKeyboard => addOriginalButtons(new InlineKeyboard(), faceIds, 1);

/** Under a live-delivered single photo: its original. */
export const originalKeyboard = (label: string, faceId: number): InlineKeyboard => new InlineKeyboard().text(label, callbackData.original(faceId));
