import { Composer } from 'grammy';
import type { BotContext } from '../context.js';
import { EventUnavailableError, type ParticipantService } from '../../services/participant.service.js';
import { callbackPattern } from '../callback-data.js';
import { eventsKeyboard } from '../keyboards/misc.keyboard.js';

/** `/events`: the joined events; a tap makes one the active event that selfies search. */
export function createEventsFeature(deps: { participants: ParticipantService }): Composer<BotContext> {
  const feature = new Composer<BotContext>();
  feature.command('events', async (ctx) => {
    const events = ctx.participant ? (await deps.participants.listEvents(ctx.participant.id)).filter((e) => e.is_active) : [];
    if (events.length === 0) return ctx.reply(ctx.t('events-none'));
    return ctx.reply(ctx.t('events-list'), { reply_markup: eventsKeyboard(events, ctx.participant?.active_event_id ?? null) });
  });
  feature.callbackQuery(callbackPattern.event, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (!ctx.participant) return ctx.reply(ctx.t('no-event'));
    try {
      const event = await deps.participants.switchEvent(ctx.participant.id, Number(ctx.match[1]));
      ctx.session.search = undefined;
      return ctx.reply(ctx.t('event-switched', { name: event.name }));
    } catch (error) {
      if (error instanceof EventUnavailableError) return ctx.reply(ctx.t('event-unavailable'));
      throw error;
    }
  });
  return feature;
}
