import { Composer } from 'grammy';
import type { BotContext } from '../context.js';
import {
  ConsentRequiredError,
  NoActiveEventError,
  SearchRateLimitedError,
  SelfieExpiredError,
  type ParticipantService,
} from '../../services/participant.service.js';
import { MultipleFacesError, NoFaceError, SearchTimeoutError, UnreadableImageError } from '../../services/search.service.js';
import { PUBLIC_LIMITS } from '../../services/match-decision.js';
import { NotFoundError } from '../../errors.js';
import { callbackPattern } from '../callback-data.js';
import { resultsKeyboard } from '../keyboards/results.keyboard.js';
import { askConsent } from './consent.feature.js';
import type { CachedFileSender } from '../cached-file.sender.js';
import type { BotSearchOutcome, Metrics } from '../../observability/metrics.js';

/** Telegram lets bots download files up to 20 MB. */
export const MAX_SELFIE_BYTES = 20 * 1024 * 1024;
/** Photos per album (Telegram's maximum). */
export const PAGE_SIZE = 10;
/** Selfies the bot fuses at most (the first and up to two more it asks for). */
export const MAX_FUSED_SELFIES = 3;
/** Results kept per search for paging: the most a caller without a photographer key may get. */
export const MAX_RESULTS = PUBLIC_LIMITS.maxLimit;
// Telegram shows a chat action for about 5 seconds; renew it while the search runs.
const CHAT_ACTION_EVERY_MS = 4000;

/** Downloads a file Telegram holds (by its `file_path` from getFile). */
export type FileDownloader = (filePath: string) => Promise<Buffer>;

/**
 * Keeps a chat action visible until `stop()` is called. `now: false` sends the first one only after
 * CHAT_ACTION_EVERY_MS: for a send that usually finishes sooner, where an indicator would only be
 * one more call ahead of the photos.
 */
function keepChatAction(ctx: BotContext, action: 'upload_photo' | 'upload_document', now = true): { stop(): void } {
  const send = (): void => void ctx.replyWithChatAction(action).catch(() => undefined);
  if (now) send();
  const timer = setInterval(send, CHAT_ACTION_EVERY_MS);
  return { stop: () => clearInterval(timer) };
}

/**
 * Sends the next page of the session's results: an album (or one photo), then the buttons. Photos
 * Telegram already has go by file_id; only the others' previews are read and uploaded.
 */
async function sendNextPage(ctx: BotContext, participants: ParticipantService, files: CachedFileSender, pageSize: number): Promise<void> {
  const search = ctx.session.search;
  if (!search) return;
  const ids = search.faceIds.slice(search.shown, search.shown + pageSize);
  const photos = await participants.photosInOrder(search.eventId, ids);
  // The album is the first thing sent once results are known; the indicator only for a slow upload.
  const action = keepChatAction(ctx, 'upload_photo', false);
  try {
    await files.sendPhotos(
      ctx.api,
      ctx.chat!.id,
      search.eventId,
      photos.map((p) => ({ faceId: p.id, bytes: () => participants.previewBytes(p) })),
    );
  } finally {
    action.stop();
  }
  const from = search.shown + 1;
  search.shown += ids.length;
  const hasMore = search.shown < search.faceIds.length;
  await ctx.reply(ctx.t('results-page', { count: ids.length, from, to: search.shown, total: search.faceIds.length }), {
    reply_markup: resultsKeyboard(ctx, { faceIds: photos.map((p) => p.id), firstNumber: from, hasMore, offerLive: !hasMore }),
  });
}

/**
 * Selfies (photo or image file) → search the active event → albums, paging, originals, live-delivery
 * opt-in. Plain handlers, not a conversation: every selfie is a search of its own, and the results
 * for paging live in the session.
 */
export function createSelfieFeature(deps: {
  participants: ParticipantService;
  download: FileDownloader;
  /** Sends previews and originals by cached file_id where Telegram has them. */
  files: CachedFileSender;
  /** Counts searches by outcome. */
  searches?: Metrics['botSearches'];
  pageSize?: number;
}): Composer<BotContext> {
  const { participants, files } = deps;
  const count = (outcome: BotSearchOutcome): void => deps.searches?.inc({ outcome });
  const pageSize = Math.min(Math.max(deps.pageSize ?? PAGE_SIZE, 1), PAGE_SIZE);
  const feature = new Composer<BotContext>();
  const privateChats = feature.chatType('private');

  const runSearch = async (ctx: BotContext, fileId: string): Promise<unknown> => {
    const participant = ctx.participant;
    if (!participant) return ctx.reply(ctx.t('no-event'));
    // No processing without consent: the consent conversation asks for it first.
    if (!participant.consent_at) return askConsent(ctx);
    const action = keepChatAction(ctx, 'upload_photo');
    let result;
    try {
      const file = await ctx.api.getFile(fileId);
      if (!file.file_path || (file.file_size ?? 0) > MAX_SELFIE_BYTES) return await ctx.reply(ctx.t('selfie-too-large'));
      const image = await deps.download(file.file_path);
      result = await participants.search(participant, image, { limit: MAX_RESULTS, more: ctx.session.moreSelfie !== undefined });
    } catch (error) {
      const answer = (outcome: BotSearchOutcome, text: string) => {
        count(outcome);
        return ctx.reply(text);
      };
      if (error instanceof NoFaceError) return answer('no_face', ctx.t('no-face'));
      if (error instanceof UnreadableImageError) return answer('unreadable', ctx.t('unreadable-image'));
      if (error instanceof MultipleFacesError) {
        return answer('multiple_faces', ctx.t('multiple-faces', { count: Number((error.details?.faces as unknown[] | undefined)?.length ?? 2) }));
      }
      if (error instanceof SearchRateLimitedError) return answer('rate_limited', ctx.t('rate-limited', { seconds: error.retryAfterSeconds }));
      if (error instanceof SearchTimeoutError) return answer('timeout', ctx.t('search-timeout'));
      if (error instanceof NoActiveEventError || error instanceof NotFoundError) return ctx.reply(ctx.t('no-event'));
      if (error instanceof ConsentRequiredError) return askConsent(ctx);
      count('error');
      throw error;
    } finally {
      action.stop();
    }
    ctx.logger.info({ participant: participant.id, eventId: result.event.id, results: result.faceIds.length }, 'selfie search');
    ctx.session.search = { eventId: result.event.id, faceIds: result.faceIds, shown: 0 };
    count(result.faceIds.length === 0 ? 'nothing_found' : 'results');
    if (result.faceIds.length === 0) {
      await ctx.reply(ctx.t('nothing-found', { name: result.event.name }), {
        reply_markup: resultsKeyboard(ctx, { faceIds: [], firstNumber: 1, hasMore: false, offerLive: true }),
      });
    } else {
      await sendNextPage(ctx, participants, files, pageSize);
    }
    // A weak selfie or an answer close to the threshold: one more selfie (fused with this one) settles it.
    const { count: fused, weak, borderline } = result.selfie;
    if ((weak || borderline) && fused < MAX_FUSED_SELFIES) {
      ctx.session.moreSelfie = { eventId: result.event.id, count: fused };
      return ctx.reply(ctx.t(weak ? 'selfie-one-more-weak' : 'selfie-one-more'));
    }
    ctx.session.moreSelfie = undefined;
    return undefined;
  };

  privateChats.on('message:photo', async (ctx) => {
    const largest = ctx.message.photo.at(-1);
    if (largest) await runSearch(ctx, largest.file_id);
  });

  privateChats.on('message:document', async (ctx) => {
    const doc = ctx.message.document;
    if (!doc.mime_type?.startsWith('image/')) return ctx.reply(ctx.t('selfie-not-image'));
    if ((doc.file_size ?? 0) > MAX_SELFIE_BYTES) return ctx.reply(ctx.t('selfie-too-large'));
    return runSearch(ctx, doc.file_id);
  });

  feature.callbackQuery(callbackPattern.more, async (ctx) => {
    await ctx.answerCallbackQuery();
    const search = ctx.session.search;
    if (!search || search.shown >= search.faceIds.length) return ctx.reply(ctx.t('results-done'));
    // A second tap on the old "show more" button would skip a page: keep only its original buttons.
    const rows = ctx.callbackQuery.message?.reply_markup?.inline_keyboard ?? [];
    const originalsOnly = rows.filter((row) => row.every((b) => 'callback_data' in b && b.callback_data.startsWith('orig:')));
    await ctx.editMessageReplyMarkup({ reply_markup: { inline_keyboard: originalsOnly } }).catch(() => undefined);
    return sendNextPage(ctx, participants, files, pageSize);
  });

  feature.callbackQuery(callbackPattern.original, async (ctx) => {
    await ctx.answerCallbackQuery();
    const faceId = Number(ctx.match[1]);
    const participant = ctx.participant;
    const shown = ctx.session.search?.faceIds.includes(faceId) ?? false;
    const photo = participant && (await participants.photoFor(participant.id, faceId, shown));
    if (!photo) return ctx.reply(ctx.t('original-unavailable'));
    const action = keepChatAction(ctx, 'upload_document');
    try {
      const name = photo.original_name ?? `photo-${photo.id}.jpg`;
      return await files.sendOriginal(ctx.api, ctx.chat!.id, photo.event_id, { faceId: photo.id, name, bytes: () => participants.originalBytes(photo) });
    } finally {
      action.stop();
    }
  });

  feature.callbackQuery(callbackPattern.live, async (ctx) => {
    await ctx.answerCallbackQuery();
    const search = ctx.session.search;
    if (!ctx.participant || !search) return ctx.reply(ctx.t('live-expired'));
    try {
      await participants.subscribe(ctx.participant.id, search.eventId, search.faceIds);
    } catch (error) {
      if (error instanceof SelfieExpiredError) return ctx.reply(ctx.t('live-expired'));
      throw error;
    }
    const event = await participants.activeEvent(ctx.participant).catch(() => undefined);
    ctx.logger.info({ participant: ctx.participant.id, eventId: search.eventId }, 'live delivery on');
    return ctx.reply(ctx.t('live-on', { name: event?.name ?? '' }));
  });

  return feature;
}
