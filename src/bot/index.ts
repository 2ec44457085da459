import { Bot, session, type StorageAdapter, type Transformer } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import { autoRetry } from '@grammyjs/auto-retry';
import { apiThrottler } from '@grammyjs/transformer-throttler';
import { sequentialize } from '@grammyjs/runner';
import { RedisAdapter } from '@grammyjs/storage-redis';
import { createConversation } from '@grammyjs/conversations';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { ParticipantService } from '../services/participant.service.js';
import type { BotContext, ConversationContext, SessionData } from './context.js';
import { COMMANDS, CONVERSATION, conversationsPlugin, type ConversationStateAdapter } from './conversations.js';
import { createI18n } from './i18n.js';
import { updateLogger } from './middlewares/update-logger.middleware.js';
import { loadParticipant } from './middlewares/participant.middleware.js';
import { createStartFeature } from './features/start.feature.js';
import { createConsentConversation, createConsentFeature } from './features/consent.feature.js';
import { createSelfieFeature } from './features/selfie.feature.js';
import { createEventsFeature } from './features/events.feature.js';
import { createForgetConversation, createForgetFeature } from './features/forget.feature.js';
import { createStopFeature } from './features/stop.feature.js';
import { createLanguageFeature } from './features/language.feature.js';
import { createHelpFeature } from './features/help.feature.js';
import { createUnhandledFeature } from './features/unhandled.feature.js';
import type { TelegramFileRepository } from '../repositories/telegram-file.repository.js';
import { createCachedFileSender } from './cached-file.sender.js';
import type { Metrics } from '../observability/metrics.js';

/** What the bot needs from the rest of FacePass. */
export interface BotDependencies {
  participants: ParticipantService;
  logger: Logger;
  /** Redis for sessions (the same instance as the queues). */
  redis: Redis;
  /** Key prefix in Redis (QUEUE_PREFIX), so several installs can share one Redis. */
  keyPrefix: string;
  /** Telegram file_ids of photos already uploaded (shared with live delivery); without it every send uploads. */
  fileIds?: TelegramFileRepository;
  /** Counts updates, searches by outcome and Telegram uploads. */
  metrics?: Pick<Metrics, 'botUpdates' | 'botSearches' | 'telegramFiles'>;
}

/** Options of `createBot`. */
export interface BotOptions {
  /** Bot API server. @defaultValue `https://api.telegram.org` */
  apiRoot?: string;
  /** Skips getMe at init when known. */
  botInfo?: UserFromGetMe;
  /** Spaces out requests to Telegram's limits (about 1 message per second per chat). @defaultValue true */
  throttle?: boolean;
  /** Session storage. @defaultValue Redis via @grammyjs/storage-redis */
  sessionStorage?: StorageAdapter<SessionData>;
  /** Conversation state storage. @defaultValue Redis via @grammyjs/storage-redis */
  conversationStorage?: ConversationStateAdapter;
  /** Photos per album page (1–10). @defaultValue 10 */
  pageSize?: number;
}

export type FacePassBot = Bot<BotContext>;

/**
 * Telegram's per-chat pace (about one message a second), kept by the throttler for every call but
 * chat actions: an indicator ("sending photo…") is no message, and spacing it like one pushed the
 * album a second further back each time (a selfie's album arrived 2.8 s after it, for a 46 ms
 * search). The album is now the first call that waits for the chat's budget.
 */
export function throttledExceptIndicators(): Transformer {
  const throttle = apiThrottler();
  return (prev, method, payload, signal) => (method === 'sendChatAction' ? prev(method, payload, signal) : throttle(prev, method, payload, signal));
}

const inFlight = new WeakMap<FacePassBot, Set<Promise<void>>>();

/** Resolves when the updates the bot is handling now are done (successfully or not). */
export async function updatesSettled(bot: FacePassBot): Promise<void> {
  await Promise.allSettled([...(inFlight.get(bot) ?? [])]);
}

/**
 * Puts the bot together: middlewares, the conversations (consent, /forget) with their state in
 * Redis, then one Composer per feature, the unhandled-update handler last.
 */
export function createBot(token: string, deps: BotDependencies, options: BotOptions = {}): FacePassBot {
  const apiRoot = options.apiRoot ?? 'https://api.telegram.org';
  const bot = new Bot<BotContext>(token, { client: { apiRoot }, ...(options.botInfo && { botInfo: options.botInfo }) });
  // Retries 429 and 5xx answers after the wait Telegram asks for.
  bot.api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 60 }));
  if (options.throttle !== false) bot.api.config.use(throttledExceptIndicators());

  const download = async (filePath: string): Promise<Buffer> => {
    const res = await fetch(`${apiRoot}/file/bot${token}/${filePath}`);
    if (!res.ok) throw new Error(`Telegram file download failed: HTTP ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  };
  const i18n = createI18n();
  const log = deps.logger.child({ role: 'bot' });
  const sessionKey = (chatId: number | undefined): string | undefined => (chatId === undefined ? undefined : `${deps.keyPrefix}:bot:session:${chatId}`);

  // Updates being handled, so that stopping can wait for them (their session and conversation state
  // are saved at the end of the update).
  const handling = new Set<Promise<void>>();
  inFlight.set(bot, handling);
  bot.use(async (ctx, next) => {
    deps.metrics?.botUpdates.inc({ type: Object.keys(ctx.update).find((key) => key !== 'update_id') ?? 'unknown' });
    const work = next();
    handling.add(work);
    try {
      await work;
    } finally {
      handling.delete(work);
    }
  });
  // Updates of one chat run in order (the runner is concurrent across chats), so sessions never race.
  bot.use(sequentialize((ctx) => ctx.chat?.id.toString()));
  bot.use(updateLogger(log));
  bot.use(
    session({
      initial: (): SessionData => ({}),
      getSessionKey: (ctx) => sessionKey(ctx.chat?.id),
      storage: options.sessionStorage ?? new RedisAdapter<SessionData>({ instance: deps.redis }),
    }),
  );
  bot.use(loadParticipant(deps.participants));
  bot.use(i18n);

  const { participants } = deps;
  // Conversations come before the features: an active one sees the chat's updates first and passes
  // on what is not its answer (menu commands, other buttons). Their state is stored per chat in Redis
  // next to the session, so a restart mid-conversation resumes it.
  bot.use(
    conversationsPlugin({
      adapter: options.conversationStorage ?? new RedisAdapter({ instance: deps.redis }),
      keyPrefix: deps.keyPrefix,
      logger: log,
      participants,
      i18n,
    }),
  );
  bot.use(createConversation<BotContext, ConversationContext>(createConsentConversation({ participants }), CONVERSATION.consent));
  bot.use(createConversation<BotContext, ConversationContext>(createForgetConversation({ participants }), CONVERSATION.forget));

  bot.use(createStartFeature({ participants }));
  bot.use(createConsentFeature());
  const files = createCachedFileSender(deps.fileIds, deps.metrics);
  bot.use(
    createSelfieFeature({
      participants,
      download,
      files,
      ...(deps.metrics && { searches: deps.metrics.botSearches }),
      ...(options.pageSize && { pageSize: options.pageSize }),
    }),
  );
  bot.use(createEventsFeature({ participants }));
  bot.use(createStopFeature({ participants }));
  bot.use(createForgetFeature());
  bot.use(createLanguageFeature({ participants }));
  bot.use(createHelpFeature());
  bot.use(createUnhandledFeature());

  // The one error boundary: log with the update's logger, tell the user, keep running.
  bot.catch(async (err) => {
    const ctx = err.ctx;
    const logger = (ctx as Partial<BotContext>).logger ?? log;
    logger.error({ err: err.error, update_id: ctx.update.update_id }, 'update failed');
    if (ctx.chat && typeof (ctx as Partial<BotContext>).t === 'function') {
      await ctx.reply(ctx.t('error-generic')).catch(() => undefined);
    }
  });
  return bot;
}

/** Sets the command menu in both languages. */
export async function setCommands(bot: FacePassBot): Promise<void> {
  const i18n = createI18n();
  const describe = (language: string) => COMMANDS.map((command) => ({ command, description: i18n.t(language, `command-${command}`) }));
  await bot.api.setMyCommands(describe('en'));
  await bot.api.setMyCommands(describe('ru'), { language_code: 'ru' });
}
