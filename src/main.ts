import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { createDependencies, type Dependencies } from './dependencies.js';
import { buildApi } from './api/app.js';
import { startJobWorkers, type JobWorkers } from './queue/job-worker.js';
import { createJobHandlers } from './workers/index.js';
import { createSearchGate } from './queue/search-gate.js';
import { lockDataDir } from './instance-lock.js';
import { createFaceEngine } from './vision/index.js';
import { Api } from 'grammy';
import { createBot, type FacePassBot } from './bot/index.js';
import { botWebhookPlugin, startBot, webhookSecretFor, type WebhookSettings } from './bot/run.js';
import { createTelegramLiveSender } from './bot/live-delivery.sender.js';
import { startMetricsServer } from './observability/metrics-server.js';
import { startFtpServer, type FtpIngestServer } from './ftp/ftp-server.js';

/** The roles one process can run. */
export const ROLES = ['api', 'bot', 'worker', 'ftp'] as const;
export type Role = (typeof ROLES)[number];

/** The roles of `--role all`: camera FTP ingest opens a port, so only when FTP_PORT asks for it. */
export function rolesOfAll(config: Config): Role[] {
  return ROLES.filter((role) => role !== 'ftp' || config.ftp.port !== undefined);
}

/** A started service; `stop()` is the graceful shutdown. */
export interface RunningService {
  deps: Dependencies;
  /** The API's address when the api role runs. */
  apiUrl: string | undefined;
  /** The process's metrics listener (`http://host:port/metrics`) when METRICS_PORT is set. */
  metricsUrl: string | undefined;
  /** Camera FTP ingest when the ftp role runs. */
  ftp: FtpIngestServer | undefined;
  stop(): Promise<void>;
}

const usesEmbeddedDb = (config: Config): boolean =>
  config.databases.main.kind === 'pglite' || config.databases.vector.kind === 'pglite';

/** Starts the given roles in this process. */
export async function startService(config: Config, roles: readonly Role[], logger: Logger): Promise<RunningService> {
  // PGlite serves one process per data directory; the lock turns a second process into a clear error.
  const lock = usesEmbeddedDb(config) ? await lockDataDir(config.dataDir) : undefined;
  const stack: (() => Promise<void>)[] = [];
  if (lock) stack.push(() => lock.release());
  const stop = async (): Promise<void> => {
    while (stack.length > 0) {
      const step = stack.pop();
      await step?.().catch((err: unknown) => logger.error({ err }, 'error during shutdown'));
    }
  };
  try {
    const deps = await createDependencies(config, logger);
    stack.push(() => deps.close());

    let workers: JobWorkers | undefined;
    if (roles.includes('worker')) {
      // The first start builds the default pack's ONNX files into MODEL_DIR (a few seconds).
      const engine = await createFaceEngine({ modelDir: config.modelDir, packId: config.faceModelPack, ...(config.ortThreads > 0 && { intraOpThreads: config.ortThreads }) });
      stack.push(() => engine.close());
      logger.info({ pack: engine.packId, dimensions: engine.dimensions }, 'face engine loaded');
      // Live delivery needs the bot token: the worker sends new matching photos through the Bot API.
      const handlers = createJobHandlers(deps, {
        engine,
        // Selfie searches first: analysis in this and every other worker process steps aside for them.
        searchGate: createSearchGate(deps.redis, { prefix: config.queue.prefix, maxWaitMs: config.search.firstMaxWaitMs }),
        ...(config.telegramBotToken && {
          sender: createTelegramLiveSender({
            token: config.telegramBotToken,
            apiRoot: config.bot.apiRoot,
            fileIds: deps.repositories.telegramFiles,
            metrics: deps.metrics,
          }),
        }),
      });
      workers = startJobWorkers({
        connection: deps.redis,
        prefix: config.queue.prefix,
        concurrency: config.queue.concurrency,
        lockSeconds: config.queue.lockSeconds,
        handlers,
        logger: logger.child({ role: 'worker' }),
        metrics: deps.metrics,
      });
      stack.push(() => workers!.close());
      // A deletion interrupted by a crash or a lost job is finished now.
      for (const eventId of await deps.repositories.events.listPendingDeletion()) {
        await deps.jobs.enqueue('delete-event', { eventId });
      }
      // Photos a crash or a lost job left unfinished, and data of events that are gone, are looked for
      // now (one run per start; several at once are safe) and every SWEEP_INTERVAL_SECONDS.
      await deps.jobs.enqueue('sweep-ingest', {});
      await deps.jobs.repeat('sweep-ingest', {}, config.sweep.intervalSeconds * 1000);
      // Live deliveries a crashed worker left mid-send are looked for now and as often as BullMQ looks
      // for a crashed worker's jobs.
      if (handlers['recover-live-deliveries']) await deps.jobs.repeat('recover-live-deliveries', {}, config.queue.lockSeconds * 1000);
      logger.info({ concurrency: config.queue.concurrency }, 'worker started');
    }

    // The bot is built before the API: in webhook mode the API serves its route.
    let bot: FacePassBot | undefined;
    let webhook: WebhookSettings | undefined;
    const token = config.telegramBotToken;
    if (roles.includes('bot')) {
      if (!token) {
        if (roles.length === 1) throw new Error('TELEGRAM_BOT_TOKEN is required for the bot role');
        logger.warn('TELEGRAM_BOT_TOKEN is not set: the Telegram bot is not started');
      } else {
        if (config.bot.webhookUrl) {
          if (!roles.includes('api')) throw new Error('TELEGRAM_WEBHOOK_URL is served by the API: run the bot role together with the api role');
          webhook = { url: config.bot.webhookUrl, secret: webhookSecretFor(token, config.bot.webhookSecret) };
        }
        bot = createBot(
          token,
          {
            participants: deps.services.participants,
            logger,
            redis: deps.redis,
            keyPrefix: config.queue.prefix,
            fileIds: deps.repositories.telegramFiles,
            metrics: deps.metrics,
          },
          { apiRoot: config.bot.apiRoot },
        );
        await bot.init();
      }
    }

    // Every process (api, worker, bot) serves its own metrics on a listener apart from the API;
    // opened before the API so its address can be logged with it.
    let metricsUrl: string | undefined;
    if (config.metrics.port !== undefined) {
      const server = await startMetricsServer(deps.metrics.registry, { host: config.metrics.host, port: config.metrics.port });
      stack.push(() => server.close());
      metricsUrl = server.url;
      logger.info({ url: metricsUrl, roles }, 'metrics listening');
    }

    let app: FastifyInstance | undefined;
    let apiUrl: string | undefined;
    if (roles.includes('api')) {
      // Invite links need the bot's username: configured, known from the bot, or asked from Telegram.
      let botUsername = config.bot.username ?? bot?.botInfo.username;
      if (!botUsername && token) {
        botUsername = await new Api(token, { apiRoot: config.bot.apiRoot }).getMe().then(
          (me) => me.username,
          (err: unknown) => {
            logger.warn({ err }, 'could not ask Telegram for the bot username: invites answer 409 until TELEGRAM_BOT_USERNAME is set');
            return undefined;
          },
        );
      }
      // Queue depth is read from Redis at scrape time by the API process only: worker and bot
      // processes would report the same numbers again.
      deps.metrics.watchQueues(deps.jobs.queue);
      app = await buildApi(deps, {
        adminToken: lock?.token,
        ...(botUsername && { botUsername }),
        ...(bot && webhook && { botWebhook: botWebhookPlugin(bot, webhook) }),
      });
      // Fastify's close() stops accepting connections and waits for requests in flight.
      stack.push(() => app!.close());
      await app.listen({ host: config.http.host, port: config.http.port });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.http.port;
      apiUrl = `http://127.0.0.1:${port}`;
      await lock?.publish(apiUrl);
      logger.info({ url: `http://${config.http.host}:${port}`, docs: `${apiUrl}/docs`, ...(metricsUrl && { metrics: metricsUrl }) }, 'api listening');
    }

    if (bot) {
      const running = await startBot(bot, { ...(webhook && { webhook }), logger });
      stack.push(() => running.stop());
    }

    let ftp: FtpIngestServer | undefined;
    if (roles.includes('ftp')) {
      ftp = await startFtpServer({ config, logger, photos: deps.services.photos, accounts: deps.services.ftpCredentials });
      stack.push(() => ftp!.close());
    }

    return { deps, apiUrl, metricsUrl, ftp, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Stops the service on SIGTERM/SIGINT, forcing exit if shutdown exceeds the timeout. */
export function stopOnSignals(service: RunningService, logger: Logger, timeoutMs: number): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing work in flight');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown timed out, exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    service.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
