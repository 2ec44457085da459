import crypto from 'node:crypto';
import { webhookCallback } from 'grammy';
import { run } from '@grammyjs/runner';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from '../logger.js';
import { setCommands, updatesSettled, type FacePassBot } from './index.js';

/** Updates the bot handles; others are not even fetched. */
const ALLOWED_UPDATES = ['message', 'callback_query'] as const;

/** Webhook settings: Telegram posts to `url` and echoes `secret` in a header. */
export interface WebhookSettings {
  url: string;
  secret: string;
}

/** The webhook secret: configured, or derived from the token so every process of one install agrees. */
export const webhookSecretFor = (token: string, configured: string | undefined): string =>
  configured ?? crypto.createHash('sha256').update(`facepass-webhook:${token}`).digest('hex').slice(0, 48);

/** A Fastify plugin serving Telegram's webhook at the URL's path; requests without the secret get 401. */
export function botWebhookPlugin(bot: FacePassBot, webhook: WebhookSettings): FastifyPluginAsync {
  const path = new URL(webhook.url).pathname;
  const handle = webhookCallback(bot, 'fastify', { secretToken: webhook.secret });
  return async (app) => {
    app.post(path, { schema: { hide: true } }, handle);
  };
}

/**
 * Starts receiving updates: sets the command menu, then either registers the webhook or runs
 * long polling with @grammyjs/runner (concurrent across chats, in order within one).
 */
export async function startBot(bot: FacePassBot, options: { webhook?: WebhookSettings; logger: Logger }): Promise<{ stop(): Promise<void> }> {
  await bot.init();
  await setCommands(bot);
  if (options.webhook) {
    await bot.api.setWebhook(options.webhook.url, { secret_token: options.webhook.secret, allowed_updates: [...ALLOWED_UPDATES] });
    options.logger.info({ username: bot.botInfo.username, url: options.webhook.url }, 'bot receiving updates by webhook');
    // The webhook stays registered across restarts; the API's close() stops taking updates.
    return { stop: async () => undefined };
  }
  await bot.api.deleteWebhook();
  const handle = run(bot, { runner: { fetch: { allowed_updates: [...ALLOWED_UPDATES] } } });
  options.logger.info({ username: bot.botInfo.username }, 'bot polling for updates');
  return {
    async stop() {
      // Stops fetching, then waits for the updates already fetched: their session and conversation
      // state is saved when they finish, so a restart mid-conversation loses nothing.
      if (handle.isRunning()) await handle.stop();
      await updatesSettled(bot);
    },
  };
}
