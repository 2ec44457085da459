import type { MiddlewareFn } from 'grammy';
import type { BaseContext, BotContext, BotConversation, ConversationContext } from '../context.js';
import type { ParticipantService } from '../../services/participant.service.js';
import type { Participant } from '../../repositories/participant.repository.js';

/** The Telegram user behind an update, unless it is a bot. */
const userIdOf = (ctx: BaseContext): number | undefined => (ctx.from && !ctx.from.is_bot ? ctx.from.id : undefined);

/** Loads the participant behind the update (undefined for users who never opened an event link). */
export function loadParticipant(participants: ParticipantService): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    const userId = userIdOf(ctx);
    ctx.participant = userId === undefined ? undefined : await participants.find(userId);
    await next();
  };
}

/** A participant as JSON (conversation logs are stored in Redis as JSON, so dates travel as strings). */
type StoredParticipant = Omit<Participant, 'consent_at'> & { consent_at: string | null };

/**
 * The same, as a conversation plugin: the database read is a side effect, so it runs through
 * `conversation.external` and replays return the participant as it was when the update arrived.
 */
export function loadParticipantInConversation(participants: ParticipantService, conversation: BotConversation): MiddlewareFn<ConversationContext> {
  return async (ctx, next) => {
    const userId = userIdOf(ctx);
    ctx.participant =
      userId === undefined
        ? undefined
        : await conversation.external<Participant | undefined, StoredParticipant | null>({
            task: () => participants.find(userId),
            beforeStore: (p) => (p ? { ...p, consent_at: p.consent_at?.toISOString() ?? null } : null),
            afterLoad: (p) => (p ? { ...p, consent_at: p.consent_at === null ? null : new Date(p.consent_at) } : undefined),
          });
    await next();
  };
}
