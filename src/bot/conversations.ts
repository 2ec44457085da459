import type { MiddlewareFn, StorageAdapter } from 'grammy';
import {
  conversations,
  type ConversationData,
  type ConversationStorage,
  type VersionedState,
} from '@grammyjs/conversations';
import type { I18n } from '@grammyjs/i18n';
import type { Logger } from '../logger.js';
import type { ParticipantService } from '../services/participant.service.js';
import type { BaseContext, BotContext, BotConversation, ConversationContext } from './context.js';
import { conversationLogger } from './middlewares/update-logger.middleware.js';
import { loadParticipantInConversation } from './middlewares/participant.middleware.js';

/** The bot's conversations (multi-step flows), by id. */
export const CONVERSATION = { consent: 'consent', forget: 'forget' } as const;
export type ConversationId = (typeof CONVERSATION)[keyof typeof CONVERSATION];

/**
 * Version of the stored conversation state. A conversation resumes by replaying its stored log
 * against the code, so bump this whenever a conversation's steps change: older states are then
 * dropped (their buttons still work, see the features) instead of being replayed against new code.
 */
export const CONVERSATION_VERSION = 1;

/** The bot's commands (the menu); they keep working while a conversation waits for an answer. */
export const COMMANDS = ['start', 'events', 'stop', 'forget', 'language', 'help'] as const;

/** Stored conversation state: what `storage-redis` and the other grammY storage adapters hold. */
export type ConversationStateAdapter = StorageAdapter<VersionedState<ConversationData>>;

/** The Redis key of a chat's conversation state, next to its session. */
export const conversationKey = (keyPrefix: string, chatId: number): string => `${keyPrefix}:bot:conversation:${chatId}`;

/** Conversation state per chat in `adapter` (Redis in production), so that a restart loses nothing. */
function conversationStorage(adapter: ConversationStateAdapter, keyPrefix: string): ConversationStorage<BotContext, ConversationData> {
  const keyOf = (ctx: BotContext): string | undefined => (ctx.chatId === undefined ? undefined : conversationKey(keyPrefix, ctx.chatId));
  return {
    type: 'context',
    version: CONVERSATION_VERSION,
    adapter: {
      read: (ctx) => {
        const key = keyOf(ctx);
        return key === undefined ? undefined : adapter.read(key);
      },
      write: async (ctx, state) => {
        const key = keyOf(ctx);
        if (key !== undefined) await adapter.write(key, state);
      },
      delete: async (ctx) => {
        const key = keyOf(ctx);
        if (key !== undefined) await adapter.delete(key);
      },
    },
  };
}

/**
 * The conversations plugin: state in `adapter`, and inside every conversation the same logger,
 * participant and translations as in the handlers (as conversation plugins, in that order: the
 * language depends on the participant).
 */
export function conversationsPlugin(deps: {
  adapter: ConversationStateAdapter;
  keyPrefix: string;
  logger: Logger;
  participants: ParticipantService;
  i18n: I18n<BaseContext>;
}): MiddlewareFn<BotContext> {
  return conversations<BotContext, ConversationContext>({
    storage: conversationStorage(deps.adapter, deps.keyPrefix),
    plugins: (conversation) => [conversationLogger(deps.logger), loadParticipantInConversation(deps.participants, conversation), deps.i18n],
  });
}

/** Enters a conversation, leaving any other one first (one conversation per chat at a time). */
export async function enterConversation(ctx: BotContext, id: ConversationId, ...args: unknown[]): Promise<void> {
  await ctx.conversation.exitAll();
  await ctx.conversation.enter(id, ...args);
}

/** A menu command, as Telegram marks it (a bot_command entity at the start of the message). */
function isMenuCommand(ctx: ConversationContext): boolean {
  const text = ctx.message?.text ?? ctx.message?.caption;
  const entity = (ctx.message?.entities ?? ctx.message?.caption_entities)?.find((e) => e.type === 'bot_command' && e.offset === 0);
  if (!text || !entity) return false;
  const name = text.slice(1, entity.length).split('@')[0]!.toLowerCase();
  return (COMMANDS as readonly string[]).includes(name);
}

/**
 * Waits for a tap on one of the buttons matching `pattern`. Menu commands and other buttons are
 * passed on to the bot's handlers while the conversation keeps waiting where it is (so /start,
 * /events, /language, /help … still work); any other message gets `remind` (guidance) and is dropped.
 */
export function waitForButton(conversation: BotConversation, pattern: RegExp, remind: (ctx: ConversationContext) => unknown) {
  return conversation
    .waitUnless((ctx) => isMenuCommand(ctx) || (ctx.callbackQuery !== undefined && !pattern.test(ctx.callbackQuery.data ?? '')), { next: true })
    .andForCallbackQuery(pattern, { otherwise: (ctx) => (ctx.message ? remind(ctx) : undefined) });
}
