import path from 'node:path';
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';

/**
 * Faces an event holds before it gets its own HNSW index; smaller events are searched exactly
 * (recall 1.0, no index to build or store). With rows of 128 half-precision values an exact scan of
 * 5,000–10,000 faces takes p50 4–5 ms / p99 ~10 ms on 2 idle cores (bench:scale, 2026-12-02), half
 * the 20 ms p99 budget, while each indexed face costs ~730 bytes of HNSW graph and a build.
 */
export const DEFAULT_VECTOR_INDEX_MIN_FACES = 8000;

/**
 * Every environment variable FacePass reads, with its default. This is the only module that
 * looks at the environment; everything else receives the parsed `Config`.
 */
const EnvSchema = Type.Object({
  FACEPASS_DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8000 }),
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  TRUST_PROXY: Type.Boolean({ default: false }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  DATABASE_MAIN_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATABASE_VECTOR_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  QUEUE_PREFIX: Type.String({ pattern: '^[A-Za-z0-9_-]+$', default: 'facepass' }),
  JOB_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 100, default: 5 }),
  WORKER_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
  JOB_LOCK_SECONDS: Type.Integer({ minimum: 2, maximum: 3600, default: 60 }),
  SWEEP_INTERVAL_SECONDS: Type.Integer({ minimum: 10, maximum: 86400, default: 300 }),
  SWEEP_LEASE_SECONDS: Type.Integer({ minimum: 1, maximum: 604800, default: 900 }),
  SWEEP_MAX_REQUEUES: Type.Integer({ minimum: 0, maximum: 100, default: 3 }),
  S3_BUCKET: Type.Optional(Type.String({ minLength: 3 })),
  S3_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://' })),
  S3_PUBLIC_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://' })),
  S3_REGION: Type.String({ minLength: 1, default: 'us-east-1' }),
  S3_ACCESS_KEY_ID: Type.Optional(Type.String({ minLength: 1 })),
  S3_SECRET_ACCESS_KEY: Type.Optional(Type.String({ minLength: 1 })),
  S3_FORCE_PATH_STYLE: Type.Boolean({ default: true }),
  IMAGE_URL_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 604800, default: 3600 }),
  URL_SIGNING_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  MODEL_DIR: Type.Optional(Type.String({ minLength: 1 })),
  TELEGRAM_BOT_TOKEN: Type.Optional(Type.String({ pattern: '^[0-9]+:[A-Za-z0-9_-]+$' })),
  TELEGRAM_BOT_USERNAME: Type.Optional(Type.String({ pattern: '^@?[A-Za-z0-9_]{5,64}$' })),
  TELEGRAM_API_ROOT: Type.String({ pattern: '^https?://', default: 'https://api.telegram.org' }),
  TELEGRAM_WEBHOOK_URL: Type.Optional(Type.String({ pattern: '^https://' })),
  TELEGRAM_WEBHOOK_SECRET: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{16,256}$' })),
  BOT_SEARCHES_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  LIVE_DELIVERY_BATCH_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 10 }),
  UPLOAD_MAX_MB: Type.Integer({ minimum: 1, maximum: 2048, default: 50 }),
  ORT_THREADS: Type.Integer({ minimum: 0, maximum: 64, default: 0 }),
  // The face model pack workers load; switching it re-embeds done photos in the background.
  FACE_MODEL_PACK: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9._-]*$', default: 'faceapi-resnet128' }),
  // Detector work per photo in 512×512 tile equivalents; 300 = DEFAULT_MAX_TILES (src/vision).
  FACE_MAX_TILES: Type.Integer({ minimum: 1, maximum: 5000, default: 300 }),
  SEARCH_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 300000, default: 20000 }),
  // Searches first: photo analysis pauses at most this long at a time while selfie searches run (0: never).
  SEARCH_FIRST_MAX_WAIT_MS: Type.Integer({ minimum: 0, maximum: 60000, default: 2000 }),
  SEARCH_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 100000, default: 10 }),
  VECTOR_INDEX_MIN_FACES: Type.Integer({ minimum: 1, maximum: 100000000, default: DEFAULT_VECTOR_INDEX_MIN_FACES }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 600000, default: 30000 }),
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  METRICS_HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  SESSION_TTL_HOURS: Type.Integer({ minimum: 1, maximum: 8760, default: 168 }),
  COOKIE_SECURE: Type.Union(['auto', 'true', 'false'].map((l) => Type.Literal(l)), { default: 'auto' }),
  FTP_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  FTP_HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  FTP_PUBLIC_HOST: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}(\\.[0-9]{1,3}){3}$' })),
  FTP_PASV_PORTS: Type.String({ pattern: '^[0-9]{1,5}-[0-9]{1,5}$', default: '30000-30049' }),
  FTP_TLS_CERT: Type.Optional(Type.String({ minLength: 1 })),
  FTP_TLS_KEY: Type.Optional(Type.String({ minLength: 1 })),
  FTP_MAX_CONNECTIONS: Type.Integer({ minimum: 1, maximum: 1000, default: 20 }),
  FTP_LOGIN_FAILURES_PER_ADDRESS: Type.Integer({ minimum: 1, maximum: 10000, default: 10 }),
});
type Env = Static<typeof EnvSchema>;

/** Where a database lives: a PostgreSQL URL, or an embedded PGlite directory. */
export type DatabaseTarget = { kind: 'postgres'; url: string; poolSize: number } | { kind: 'pglite'; dir: string };

/** Where photos are stored. */
export type StorageTarget =
  | {
      kind: 's3';
      bucket: string;
      endpoint: string | undefined;
      /** Endpoint written into presigned image links when users reach S3 at another address than FacePass does. */
      publicEndpoint: string | undefined;
      region: string;
      accessKeyId: string | undefined;
      secretAccessKey: string | undefined;
      forcePathStyle: boolean;
    }
  | { kind: 'local'; dir: string };

/** The parsed, validated configuration. */
export interface Config {
  dataDir: string;
  /** `trustProxy`: take client addresses from X-Forwarded-For (only behind a reverse proxy you run). */
  http: { host: string; port: number; publicUrl: string; trustProxy: boolean };
  logLevel: Env['LOG_LEVEL'];
  databases: { main: DatabaseTarget; vector: DatabaseTarget };
  /** `undefined` means: start a private redis-server under the data directory. */
  redisUrl: string | undefined;
  /** `lockSeconds`: how long a job stays claimed without a heartbeat before a crashed worker's job is run again. */
  queue: { prefix: string; attempts: number; concurrency: number; lockSeconds: number };
  /**
   * The ingest sweep: runs every `intervalSeconds`; a photo unfinished for `leaseSeconds` without a live
   * job is queued again, at most `maxRequeues` times, then failed; events gone that long are purged.
   */
  sweep: { intervalSeconds: number; leaseSeconds: number; maxRequeues: number };
  storage: StorageTarget;
  imageUrlTtlSeconds: number;
  /** `undefined` means: generate one and keep it under the data directory. */
  urlSigningSecret: string | undefined;
  modelDir: string;
  /** onnxruntime intra-op threads per session; 0 lets the engine choose (CPU count, at most 4). */
  ortThreads: number;
  /** FACE_MODEL_PACK: the pack workers embed and search with. */
  faceModelPack: string;
  /** Detector tiles per photo: the budget that decides the smallest face found in large photos. */
  faceMaxTiles: number;
  uploadMaxBytes: number;
  search: {
    timeoutMs: number;
    publicPerMinute: number;
    indexMinFaces: number;
    /** How long photo analysis steps aside at a time while searches run (0: it never does). */
    firstMaxWaitMs: number;
  };
  telegramBotToken: string | undefined;
  /** The Telegram bot's settings (used only when a token is set). */
  bot: {
    /** Username for invite links; `undefined` means: ask Telegram (getMe) when a token is set. */
    username: string | undefined;
    /** Bot API server (a local Bot API server, or a fake one in tests). */
    apiRoot: string;
    /** Public HTTPS URL of the webhook; `undefined` means long polling. */
    webhookUrl: string | undefined;
    /** Secret Telegram echoes in X-Telegram-Bot-Api-Secret-Token; derived from the token when unset. */
    webhookSecret: string | undefined;
    searchesPerMinute: number;
    /** Live delivery gathers an event's new matches this long, then sends them as albums. */
    liveBatchSeconds: number;
  };
  shutdownTimeoutMs: number;
  /** The process's Prometheus listener (`GET /metrics`); `port` undefined means none. */
  metrics: { host: string; port: number | undefined };
  /** The web console: session lifetime, and whether its cookie is `Secure` ('auto': when the request came over HTTPS). */
  console: { sessionTtlMs: number; cookieSecure: 'auto' | boolean };
  /** Camera FTP ingest (the `ftp` role); `port` undefined means `all` does not start it. */
  ftp: {
    port: number | undefined;
    host: string;
    /** The IPv4 address written into PASV replies (behind NAT); undefined: the address the client reached. */
    publicHost: string | undefined;
    passivePorts: { min: number; max: number };
    /** Explicit FTPS (AUTH TLS) with these PEM files; undefined: plain FTP only. */
    tls: { certFile: string; keyFile: string } | undefined;
    maxConnections: number;
    /** Failed logins per client address in 15 minutes before its logins are refused. */
    loginFailuresPerAddress: number;
  };
}

/** A configuration problem; the message names every offending variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Names of all variables, for docs and tests. */
export const CONFIG_VARIABLES = Object.keys(EnvSchema.properties) as (keyof Env)[];

/** Parses and validates the environment once. Throws `ConfigError` naming each bad variable. */
export function loadConfig(source: Record<string, string | undefined>): Config {
  const raw: Record<string, string> = {};
  for (const key of CONFIG_VARIABLES) {
    const value = source[key];
    // An empty variable counts as unset, as shells and compose files often leave them so.
    if (value !== undefined && value.trim() !== '') raw[key] = value.trim();
  }
  const converted = Value.Convert(EnvSchema, Value.Default(EnvSchema, raw));
  // Checked variable by variable: the error iterator caps its count, and every bad variable must be named.
  const problems: string[] = [];
  for (const name of CONFIG_VARIABLES) {
    const schema = EnvSchema.properties[name];
    const value = (converted as Record<string, unknown>)[name];
    if (value === undefined && !(EnvSchema.required as string[] | undefined)?.includes(name)) continue;
    if (!Value.Check(schema, value)) problems.push(`${name}=${JSON.stringify(raw[name])} is invalid: expected ${describe(schema)}`);
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  const env = converted as Env;
  return toConfig(env);
}

function describe(schema: unknown): string {
  const s = schema as { type?: string; minimum?: number; maximum?: number; pattern?: string; anyOf?: { const: string }[] };
  if (s.anyOf) return `one of ${s.anyOf.map((o) => o.const).join(', ')}`;
  if (s.type === 'integer') return `an integer from ${s.minimum} to ${s.maximum}`;
  if (s.type === 'boolean') return 'true or false';
  if (s.pattern) return `a value matching ${s.pattern}`;
  return 'a non-empty string';
}

function toConfig(env: Env): Config {
  const dataDir = path.resolve(env.FACEPASS_DATA_DIR);
  const problems: string[] = [];
  const s3Fields = [env.S3_ENDPOINT, env.S3_PUBLIC_ENDPOINT, env.S3_ACCESS_KEY_ID, env.S3_SECRET_ACCESS_KEY];
  if (!env.S3_BUCKET && s3Fields.some((v) => v !== undefined)) {
    problems.push('S3_BUCKET is required when S3_ENDPOINT, S3_PUBLIC_ENDPOINT or S3 credentials are set');
  }
  if ((env.S3_ACCESS_KEY_ID === undefined) !== (env.S3_SECRET_ACCESS_KEY === undefined)) {
    problems.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together');
  }
  if ((env.FTP_TLS_CERT === undefined) !== (env.FTP_TLS_KEY === undefined)) {
    problems.push('FTP_TLS_CERT and FTP_TLS_KEY must be set together');
  }
  const [pasvMin, pasvMax] = env.FTP_PASV_PORTS.split('-').map(Number) as [number, number];
  if (pasvMin < 1024 || pasvMax > 65535 || pasvMin > pasvMax) {
    problems.push(`FTP_PASV_PORTS=${JSON.stringify(env.FTP_PASV_PORTS)} is invalid: expected a range like 30000-30049 within 1024-65535`);
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);

  const database = (url: string | undefined, name: string): DatabaseTarget =>
    url ? { kind: 'postgres', url, poolSize: env.DATABASE_POOL_SIZE } : { kind: 'pglite', dir: path.join(dataDir, 'pglite', name) };
  const publicPort = env.PORT === 0 ? 8000 : env.PORT;
  return {
    dataDir,
    http: { host: env.HOST, port: env.PORT, publicUrl: (env.PUBLIC_URL ?? `http://localhost:${publicPort}`).replace(/\/+$/, ''), trustProxy: env.TRUST_PROXY },
    logLevel: env.LOG_LEVEL,
    databases: { main: database(env.DATABASE_MAIN_URL, 'main'), vector: database(env.DATABASE_VECTOR_URL, 'vector') },
    redisUrl: env.REDIS_URL,
    queue: { prefix: env.QUEUE_PREFIX, attempts: env.JOB_ATTEMPTS, concurrency: env.WORKER_CONCURRENCY, lockSeconds: env.JOB_LOCK_SECONDS },
    sweep: { intervalSeconds: env.SWEEP_INTERVAL_SECONDS, leaseSeconds: env.SWEEP_LEASE_SECONDS, maxRequeues: env.SWEEP_MAX_REQUEUES },
    storage: env.S3_BUCKET
      ? {
          kind: 's3',
          bucket: env.S3_BUCKET,
          endpoint: env.S3_ENDPOINT,
          publicEndpoint: env.S3_PUBLIC_ENDPOINT,
          region: env.S3_REGION,
          accessKeyId: env.S3_ACCESS_KEY_ID,
          secretAccessKey: env.S3_SECRET_ACCESS_KEY,
          forcePathStyle: env.S3_FORCE_PATH_STYLE,
        }
      : { kind: 'local', dir: path.join(dataDir, 'photos') },
    imageUrlTtlSeconds: env.IMAGE_URL_TTL_SECONDS,
    urlSigningSecret: env.URL_SIGNING_SECRET,
    modelDir: path.resolve(env.MODEL_DIR ?? path.join(dataDir, 'models')),
    ortThreads: env.ORT_THREADS,
    faceModelPack: env.FACE_MODEL_PACK,
    faceMaxTiles: env.FACE_MAX_TILES,
    uploadMaxBytes: env.UPLOAD_MAX_MB * 1024 * 1024,
    search: { timeoutMs: env.SEARCH_TIMEOUT_MS, publicPerMinute: env.SEARCH_RATE_LIMIT_PER_MINUTE, indexMinFaces: env.VECTOR_INDEX_MIN_FACES, firstMaxWaitMs: env.SEARCH_FIRST_MAX_WAIT_MS },
    telegramBotToken: env.TELEGRAM_BOT_TOKEN,
    bot: {
      username: env.TELEGRAM_BOT_USERNAME?.replace(/^@/, ''),
      apiRoot: env.TELEGRAM_API_ROOT.replace(/\/+$/, ''),
      webhookUrl: env.TELEGRAM_WEBHOOK_URL,
      webhookSecret: env.TELEGRAM_WEBHOOK_SECRET,
      searchesPerMinute: env.BOT_SEARCHES_PER_MINUTE,
      liveBatchSeconds: env.LIVE_DELIVERY_BATCH_SECONDS,
    },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    metrics: { host: env.METRICS_HOST, port: env.METRICS_PORT },
    console: {
      sessionTtlMs: env.SESSION_TTL_HOURS * 3600_000,
      cookieSecure: env.COOKIE_SECURE === 'auto' ? 'auto' : env.COOKIE_SECURE === 'true',
    },
    ftp: {
      port: env.FTP_PORT,
      host: env.FTP_HOST,
      publicHost: env.FTP_PUBLIC_HOST,
      passivePorts: { min: pasvMin, max: pasvMax },
      tls: env.FTP_TLS_CERT && env.FTP_TLS_KEY ? { certFile: path.resolve(env.FTP_TLS_CERT), keyFile: path.resolve(env.FTP_TLS_KEY) } : undefined,
      maxConnections: env.FTP_MAX_CONNECTIONS,
      loginFailuresPerAddress: env.FTP_LOGIN_FAILURES_PER_ADDRESS,
    },
  };
}
