import { Composer } from 'grammy';
import type { BaseContext, BotContext } from '../context.js';
import type { ParticipantService } from '../../services/participant.service.js';
import { EventUnavailableError } from '../../services/participant.service.js';
import { formatDate } from '../i18n.js';
import type { Event } from '../../repositories/event.repository.js';
import { askConsent } from './consent.feature.js';

/**
 * The event's greeting: name, then date and place on their own lines when the event has them.
 * Built from lines so that a missing date or place leaves no blank line behind.
 */
export async function greeting(ctx: BaseContext, event: Event): Promise<string> {
  const language = await ctx.i18n.getLocale();
  const date = formatDate(event.event_date, language);
  const place = event.location?.trim();
  return [ctx.t('greeting', { name: event.name }), date && ctx.t('event-details-date', { date }), place && ctx.t('event-details-place', { place })]
    .filter(Boolean)
    .join('\n');
}

/**
 * `/start <payload>`: the deep link joins the event; consent is asked once, before the first selfie
 * (the consent conversation). /start leaves any conversation in progress: it starts over.
 */
export function createStartFeature(deps: { participants: ParticipantService }): Composer<BotContext> {
  const feature = new Composer<BotContext>();
  feature.chatType('private').command('start', async (ctx) => {
    const payload = ctx.match.trim();
    if (!payload) {
      const event = ctx.participant && (await deps.participants.activeEvent(ctx.participant).catch(() => undefined));
      await ctx.conversation.exitAll();
      if (!event) return ctx.reply(ctx.t('start-no-event'));
      if (!ctx.participant?.consent_at) return askConsent(ctx, await greeting(ctx, event));
      return ctx.reply(`${await greeting(ctx, event)}\n\n${ctx.t('send-selfie', { name: event.name })}`);
    }
    let joined;
    try {
      joined = await deps.participants.join({ telegramUserId: ctx.from.id, language: ctx.from.language_code ?? null }, payload);
    } catch (error) {
      if (error instanceof EventUnavailableError) return ctx.reply(ctx.t('event-unavailable'));
      throw error;
    }
    ctx.participant = joined.participant;
    ctx.session.search = undefined;
    ctx.logger.info({ participant: joined.participant.id, eventId: joined.event.id }, 'participant joined event');
    const text = await greeting(ctx, joined.event);
    await ctx.conversation.exitAll();
    if (!joined.participant.consent_at) return askConsent(ctx, text);
    return ctx.reply(`${text}\n\n${ctx.t('send-selfie', { name: joined.event.name })}`);
  });
  return feature;
}
