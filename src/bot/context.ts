import type { Context, SessionFlavor } from 'grammy';
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
}

/** Per-update additions: a child logger and the participant (undefined until they open an event link). */
export interface ExtraContext {
  logger: Logger;
  participant: Participant | undefined;
}

export type BotContext = Context & SessionFlavor<SessionData> & I18nFlavor & ExtraContext;
