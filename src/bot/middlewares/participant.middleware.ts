import type { MiddlewareFn } from 'grammy';
import type { BotContext } from '../context.js';
import type { ParticipantService } from '../../services/participant.service.js';

/** Loads the participant behind the update (undefined for users who never opened an event link). */
export function loadParticipant(participants: ParticipantService): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    ctx.participant = ctx.from && !ctx.from.is_bot ? await participants.find(ctx.from.id) : undefined;
    await next();
  };
}
