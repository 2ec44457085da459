import type { Context, SessionFlavor } from 'grammy';
import type { Conversation, ConversationFlavor } from '@grammyjs/conversations';
import type { I18nFlavor } from '@grammyjs/i18n';
import type { Logger } from '../logger.js';
import type { Participant } from '../repositories/participant.repository.js';

/** What the bot keeps per chat in Redis: the last search's results, for "show more" and originals. */
export interface SessionData {
  search?: {
    eventId: number;
    /** Photo ids, best first. */
    faceIds: number[];
    /** How many of them were sent so far. */
    shown: number;
  };
  /** Set when the bot asked for one more selfie: the next one is fused with the last (up to 3). */
  moreSelfie?: { eventId: number; count: number };
}

/** Per-update additions: a child logger and the participant (undefined until they open an event link). */
export interface ExtraContext {
  logger: Logger;
  participant: Participant | undefined;
}

/** What both the handlers and the conversations see: translations, the logger and the participant. */
export type BaseContext = Context & I18nFlavor & ExtraContext;

/** The context of the bot's handlers: also the session and `ctx.conversation` (enter/exit). */
export type BotContext = ConversationFlavor<BaseContext & SessionFlavor<SessionData>>;

/**
 * The context inside conversations: built by the conversations plugin for every update and replay,
 * with i18n, the logger and the participant installed as conversation plugins (no session there:
 * conversations reach it through `conversation.external`).
 */
export type ConversationContext = BaseContext;

/** The conversation handle of the bot's conversations. */
export type BotConversation = Conversation<BotContext, ConversationContext>;
