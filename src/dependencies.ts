import type { Redis } from 'ioredis';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { openDatabases, migrateDatabases, type Databases } from './db/databases.js';
import { createStorage, type PhotoStorage, type UrlSigner } from './storage/index.js';
import { createRedis } from './queue/redis.js';
import { startEmbeddedRedis, type EmbeddedRedis } from './queue/embedded-redis.js';
import { createJobProducer, type JobProducer } from './queue/job-producer.js';
import { createPhotographerRepository } from './repositories/photographer.repository.js';
import { createEventRepository } from './repositories/event.repository.js';
import { createPhotoRepository } from './repositories/photo.repository.js';
import { createEmbeddingRepository } from './repositories/embedding.repository.js';
import { createPhotographerService } from './services/photographer.service.js';
import { createEventService } from './services/event.service.js';
import { createIngestSweepService } from './services/ingest-sweep.service.js';
import { createEventCleanupService } from './services/event-cleanup.service.js';
import { createPhotoService } from './services/photo.service.js';
import { createSearchService } from './services/search.service.js';
import { createSelfieRepository } from './repositories/selfie.repository.js';
import { createSearchAuditRepository } from './repositories/search-audit.repository.js';
import { createVectorSearchRepository } from './repositories/vector-search.repository.js';
import { createVectorIndexRepository } from './repositories/vector-index.repository.js';
import { createJobWaiter, type JobWaiter } from './queue/job-waiter.js';
import { createParticipantRepository } from './repositories/participant.repository.js';
import { createParticipantEmbeddingRepository } from './repositories/participant-embedding.repository.js';
import { createParticipantCacheRepository } from './repositories/participant-cache.repository.js';
import { createParticipantService } from './services/participant.service.js';
import { botIdOf, createTelegramFileRepository } from './repositories/telegram-file.repository.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { createAccountRepository } from './repositories/account.repository.js';
import { createAccountService } from './services/account.service.js';
import { createInsightsRepository } from './repositories/insights.repository.js';
import { createFaceBoxRepository } from './repositories/face-box.repository.js';
import { createInsightsService } from './services/insights.service.js';
import { createPersonRepository } from './repositories/person.repository.js';
import { createPeopleService } from './services/people.service.js';
import { createFtpCredentialRepository } from './repositories/ftp-credential.repository.js';
import { createFtpCredentialService } from './services/ftp-credential.service.js';

/** Everything the roles share, wired once. */
export interface Dependencies {
  config: Config;
  logger: Logger;
  dbs: Databases;
  storage: PhotoStorage;
  signer: UrlSigner;
  redis: Redis;
  jobs: JobProducer;
  repositories: ReturnType<typeof createRepositories>;
  services: ReturnType<typeof createServices>;
  /** This process's Prometheus metrics (every role records into the same registry). */
  metrics: Metrics;
  close(): Promise<void>;
}

// A selfie waits in Redis only until a search worker takes it.
const SELFIE_TTL_SECONDS = 120;
// A participant's last selfie embedding waits this long for their live-delivery opt-in, then expires.
const PENDING_EMBEDDING_TTL_SECONDS = 30 * 60;
// The operating point of participant searches in the bot (the API's default threshold).
const PARTICIPANT_THRESHOLD = 0.7;

function createRepositories(dbs: Databases, redis: Redis, config: Config) {
  return {
    selfies: createSelfieRepository(redis, { prefix: config.queue.prefix, ttlSeconds: SELFIE_TTL_SECONDS }),
    searchAudit: createSearchAuditRepository(dbs.main),
    vectorSearch: createVectorSearchRepository(dbs.vector),
    vectorIndexes: createVectorIndexRepository(dbs.vector),
    photographers: createPhotographerRepository(dbs.main),
    accounts: createAccountRepository(dbs.main),
    insights: createInsightsRepository(dbs.main),
    faceBoxes: createFaceBoxRepository(dbs.vector),
    persons: createPersonRepository(dbs.vector),
    events: createEventRepository(dbs.main),
    photos: createPhotoRepository(dbs.main),
    ftpCredentials: createFtpCredentialRepository(dbs.main),
    embeddings: createEmbeddingRepository(dbs.vector),
    participants: createParticipantRepository(dbs.main),
    participantEmbeddings: createParticipantEmbeddingRepository(dbs.vector),
    participantCache: createParticipantCacheRepository(redis, { prefix: config.queue.prefix, embeddingTtlSeconds: PENDING_EMBEDDING_TTL_SECONDS }),
    telegramFiles: createTelegramFileRepository(redis, { prefix: config.queue.prefix, botId: botIdOf(config.telegramBotToken ?? 'no-bot') }),
  };
}

function createServices(repos: ReturnType<typeof createRepositories>, jobs: JobProducer, waiter: JobWaiter, storage: PhotoStorage, config: Config) {
  const search = createSearchService({
    events: repos.events,
    photos: repos.photos,
    selfies: repos.selfies,
    audit: repos.searchAudit,
    jobs,
    waiter,
    timeoutMs: config.search.timeoutMs,
  });
  const eventCleanup = createEventCleanupService({ events: repos.events, photos: repos.photos, embeddings: repos.embeddings, vectorIndexes: repos.vectorIndexes, persons: repos.persons, storage });
  const people = createPeopleService({ persons: repos.persons, events: repos.events, photos: repos.photos, jobs, vectors: repos.vectorSearch });
  return {
    photographers: createPhotographerService({ photographers: repos.photographers }),
    accounts: createAccountService({
      accounts: repos.accounts,
      photographers: repos.photographers,
      publicUrl: config.http.publicUrl,
      sessionTtlMs: config.console.sessionTtlMs,
    }),
    events: createEventService({ events: repos.events, jobs }),
    ftpCredentials: createFtpCredentialService({ events: repos.events, credentials: repos.ftpCredentials }),
    eventCleanup,
    ingestSweep: createIngestSweepService({
      events: repos.events,
      photos: repos.photos,
      embeddings: repos.embeddings,
      storage,
      jobs,
      cleanup: eventCleanup,
      leaseMs: config.sweep.leaseSeconds * 1000,
      maxRequeues: config.sweep.maxRequeues,
      modelPack: config.faceModelPack,
    }),
    photos: createPhotoService({
      events: repos.events,
      photos: repos.photos,
      embeddings: repos.embeddings,
      storage,
      jobs,
      imageUrlTtlSeconds: config.imageUrlTtlSeconds,
    }),
    search,
    people,
    insights: createInsightsService({ events: repos.events, photos: repos.photos, insights: repos.insights, faceBoxes: repos.faceBoxes, people }),
    participants: createParticipantService({
      participants: repos.participants,
      participantEmbeddings: repos.participantEmbeddings,
      cache: repos.participantCache,
      events: repos.events,
      photos: repos.photos,
      storage,
      search,
      searchesPerMinute: config.bot.searchesPerMinute,
      threshold: PARTICIPANT_THRESHOLD,
      people,
    }),
  };
}

/** Opens databases (migrating them), storage and Redis, then builds repositories and services. */
export async function createDependencies(config: Config, logger: Logger, options: { migrate?: boolean } = {}): Promise<Dependencies> {
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const fn of closers.reverse()) await fn().catch((err: unknown) => logger.warn({ err }, 'error while closing'));
    closers.length = 0;
  };
  try {
    const dbs = await openDatabases(config);
    closers.push(() => dbs.close());
    if (options.migrate !== false) {
      for (const outcome of await migrateDatabases(dbs)) {
        if (outcome.applied.length > 0) logger.info(outcome, 'migrations applied');
      }
    }
    const { storage, signer } = await createStorage(config);
    closers.push(() => storage.close());

    let redisUrl = config.redisUrl;
    if (!redisUrl) {
      const embedded: EmbeddedRedis = await startEmbeddedRedis(config.dataDir, logger);
      closers.push(() => embedded.stop());
      redisUrl = embedded.url;
    }
    const redis = createRedis(redisUrl);
    redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
    closers.push(async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
    const jobs = createJobProducer(redis, { prefix: config.queue.prefix, attempts: config.queue.attempts });
    closers.push(() => jobs.close());

    const waiter = createJobWaiter(redis, { queueName: 'search', prefix: config.queue.prefix });
    closers.push(() => waiter.close());
    const repositories = createRepositories(dbs, redis, config);
    const services = createServices(repositories, jobs, waiter, storage, config);
    return { config, logger, dbs, storage, signer, redis, jobs, repositories, services, metrics: createMetrics(), close };
  } catch (error) {
    await close();
    throw error;
  }
}
