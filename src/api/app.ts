import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync, type RouteOptions } from 'fastify';
import { AjvCompiler, type ValidatorFactory } from '@fastify/ajv-compiler';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Dependencies } from '../dependencies.js';
import { registerErrorHandler } from './plugins/error-handler.js';
import { createPhotographerAuth } from './plugins/auth.js';
import { registerMetrics } from './plugins/metrics.js';
import { registerInputGuard } from './plugins/input-guard.js';
import { registerSecurityHeaders } from './plugins/security-headers.js';
import { registerUnreadBodyHandling } from './plugins/unread-body.js';
import { ErrorResponse } from './schemas/common.schema.js';
import { eventRoutes } from './routes/events.routes.js';
import { healthRoutes } from './routes/health.routes.js';
import { fileRoutes } from './routes/files.routes.js';
import { adminRoutes } from './routes/admin.routes.js';
import { photoRoutes } from './routes/photos.routes.js';
import { searchRoutes } from './routes/search.routes.js';
import { inviteRoutes } from './routes/invite.routes.js';
import { accountRoutes } from './routes/account.routes.js';
import { insightsRoutes } from './routes/insights.routes.js';
import { peopleRoutes } from './routes/people.routes.js';
import { ftpCredentialRoutes } from './routes/ftp-credentials.routes.js';
import { consoleRoutes, findConsoleDir } from './routes/console.routes.js';

/** What the API needs from the shared dependencies. */
export type ApiDependencies = Pick<Dependencies, 'config' | 'logger' | 'dbs' | 'redis' | 'storage' | 'signer' | 'services' | 'metrics'>;

/** Multipart framing around a file: the drain limit for an unread body is the upload limit plus this. */
const MULTIPART_OVERHEAD_BYTES = 1024 * 1024;

/**
 * Validators: path, query and headers are strings, so their schemas coerce ("5" → 5); a JSON body
 * has types of its own and is taken as sent (`{"is_active": null}` is a 400, not `false`).
 */
function buildValidators(): ValidatorFactory {
  const coercing = AjvCompiler();
  const strict = AjvCompiler();
  return (externalSchemas, options) => {
    const forStrings = coercing(externalSchemas, options);
    // We never use JTD mode: the options are Ajv's.
    const ajvOptions = options as { customOptions?: Record<string, unknown> } | undefined;
    const forBodies = strict(externalSchemas, { ...ajvOptions, customOptions: { ...ajvOptions?.customOptions, coerceTypes: false } });
    return (route) => (route.httpPart === 'body' ? forBodies : forStrings)(route);
  };
}

/** Builds the admin API (not listening yet): `/api/v1`, `/docs`, health; metrics are kept in `app.metrics`. */
export async function buildApi(
  deps: ApiDependencies,
  options: {
    adminToken?: string;
    /** The bot's username for invite links (config or getMe); invites answer 409 without it. */
    botUsername?: string;
    /** The built web console to serve on `/` (default: web/dist when built; '' serves none). */
    consoleDir?: string;
    /** Telegram's webhook route, when the bot runs in webhook mode in this process. */
    botWebhook?: FastifyPluginAsync;
    /** Sees every route as it is added, plugins' included (the fuzz test enumerates the routes with it). */
    onRoute?: (route: RouteOptions) => void;
  } = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps Fastify's default generics so plugins type-check.
    loggerInstance: deps.logger.child({ role: 'api' }) as FastifyBaseLogger,
    routerOptions: { ignoreTrailingSlash: true },
    // Client addresses (rate limits, audit) come from X-Forwarded-For only when configured: otherwise
    // any client could pick its own address and slip past the per-client search limit.
    trustProxy: deps.config.http.trustProxy,
    // verbose: each error carries the schema that failed, so a message can say what a format wants.
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: true, verbose: true } },
    genReqId: () => crypto.randomUUID(),
    schemaController: { compilersFactory: { buildValidator: buildValidators() } },
  });
  if (options.onRoute) app.addHook('onRoute', options.onRoute);
  registerErrorHandler(app);
  app.addSchema(ErrorResponse);
  await registerSecurityHeaders(app);
  registerUnreadBodyHandling(app, { drainMaxBytes: deps.config.uploadMaxBytes + MULTIPART_OVERHEAD_BYTES });
  registerInputGuard(app);

  await app.register(swagger, {
    // Shared schemas keep their $id as their name in the document (ErrorResponse, not def-0): the
    // console's types are generated from it.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    openapi: {
      info: { title: 'FacePass API', version: '1.0.0', description: 'Event photo search by selfie.' },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'Photographer API key' },
          sessionCookie: { type: 'apiKey', in: 'cookie', name: 'facepass_session', description: 'Console session (POST /auth/login); unsafe methods also need X-CSRF-Token' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  registerMetrics(app, deps.metrics);
  await app.register(healthRoutes, deps);
  const { requirePhotographer, requireSession } = createPhotographerAuth(app, deps.services.photographers, deps.services.accounts);
  await app.register(
    async (v1) => {
      await v1.register(accountRoutes, {
        accounts: deps.services.accounts,
        requireSession,
        cookie: { secure: deps.config.console.cookieSecure },
        redis: deps.redis,
        queuePrefix: deps.config.queue.prefix,
      });
      await v1.register(eventRoutes, { events: deps.services.events, requirePhotographer });
      await v1.register(insightsRoutes, { insights: deps.services.insights, url: deps.services.photos.url, requirePhotographer });
      await v1.register(peopleRoutes, { people: deps.services.people, url: deps.services.photos.url, photoById: deps.services.people.photosByIds, requirePhotographer });
      await v1.register(inviteRoutes, { events: deps.services.events, requirePhotographer, botUsername: options.botUsername ?? deps.config.bot.username });
      await v1.register(async (scope) => {
        // One multipart registration per scope: uploads stream with their own limit; selfies are small.
        await scope.register(photoRoutes, { photos: deps.services.photos, requirePhotographer, uploadMaxBytes: deps.config.uploadMaxBytes });
      });
      await v1.register(searchRoutes, {
        search: deps.services.search,
        events: deps.services.events,
        photographers: deps.services.photographers,
        signer: deps.signer,
        url: deps.services.photos.url,
        redis: deps.redis,
        queuePrefix: deps.config.queue.prefix,
        publicPerMinute: deps.config.search.publicPerMinute,
        requirePhotographer,
      });
      if (deps.config.storage.kind === 'local') await v1.register(fileRoutes, { dir: deps.config.storage.dir, signer: deps.signer });
      await v1.register(ftpCredentialRoutes, { credentials: deps.services.ftpCredentials, requirePhotographer, config: deps.config });
    },
    { prefix: '/api/v1' },
  );
  await app.register(consoleRoutes, { dir: options.consoleDir === undefined ? findConsoleDir() : options.consoleDir || undefined });
  if (options.botWebhook) await app.register(options.botWebhook);
  if (options.adminToken) {
    await app.register(adminRoutes, { prefix: '/internal/admin', token: options.adminToken, photographers: deps.services.photographers, accounts: deps.services.accounts });
  }
  return app;
}
