import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import rateLimit from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import Type from 'typebox';
import { LOCKOUT_MS, MAX_FAILED_LOGINS, type AccountService, type NewSession } from '../../services/account.service.js';
import { clearSessionCookie, photographerOf, sessionOf, setSessionCookie, type CookieOptions } from '../plugins/auth.js';
import { DateTime, errors, NullableDateTime } from '../schemas/common.schema.js';

/** Sign-in attempts per client address in LOGIN_WINDOW, good or bad: the per-address half of the lockout. */
export const LOGIN_ATTEMPTS_PER_ADDRESS = 20;
const LOGIN_WINDOW = '15 minutes';

const SessionResponse = Type.Object({
  photographer: Type.Object({ id: Type.Integer(), email: Type.String(), name: Type.Union([Type.String(), Type.Null()]) }),
  csrf_token: Type.String({ description: 'Send it back in X-CSRF-Token on every POST, PATCH and DELETE' }),
  expires_at: DateTime,
});
const ApiKey = Type.Object({
  id: Type.Integer(),
  name: Type.Union([Type.String(), Type.Null()]),
  prefix: Type.String({ description: 'First characters of the key, to recognise it' }),
  created_at: DateTime,
  last_used_at: NullableDateTime,
});
const Password = Type.String({ minLength: 1, maxLength: 200 });

/**
 * The web console's sign-in (email and password, or an invite link), its session, and the
 * photographer's API keys. Sessions live in an httpOnly SameSite=Strict cookie; keys are managed with
 * a session only.
 */
export async function accountRoutes(
  app: FastifyInstance,
  deps: {
    accounts: AccountService;
    requireSession: (request: FastifyRequest) => Promise<void>;
    cookie: CookieOptions;
    redis: Redis;
    queuePrefix: string;
  },
): Promise<void> {
  await app.register(rateLimit, { global: false, redis: deps.redis, nameSpace: `${deps.queuePrefix}-login-` });
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { accounts, requireSession } = deps;
  const tags = ['console'];
  const loginLimit = { rateLimit: { max: LOGIN_ATTEMPTS_PER_ADDRESS, timeWindow: LOGIN_WINDOW } };

  const signedIn = (request: FastifyRequest, reply: FastifyReply, session: NewSession) => {
    setSessionCookie(request, reply, session, deps.cookie);
    const { id, email, name } = session.photographer;
    return { photographer: { id, email, name }, csrf_token: session.csrfToken, expires_at: session.expiresAt.toISOString() };
  };

  api.post(
    '/auth/login',
    {
      config: loginLimit,
      schema: {
        tags,
        summary: 'Sign in to the console (sets the session cookie)',
        description: `${MAX_FAILED_LOGINS} bad passwords in a row lock the account for ${LOCKOUT_MS / 60_000} minutes; ${LOGIN_ATTEMPTS_PER_ADDRESS} attempts per address per ${LOGIN_WINDOW}.`,
        body: Type.Object({ email: Type.String({ minLength: 1, maxLength: 320 }), password: Password }, { additionalProperties: false }),
        response: { 200: SessionResponse, ...errors(400, 401, 429) },
      },
    },
    async (request, reply) => signedIn(request, reply, await accounts.login(request.body.email, request.body.password)),
  );

  api.post(
    '/auth/invite',
    {
      config: loginLimit,
      schema: {
        tags,
        summary: 'Use an invite link: choose a password and sign in',
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 100 }), password: Password }, { additionalProperties: false }),
        response: { 200: SessionResponse, ...errors(400, 404, 429) },
      },
    },
    async (request, reply) => signedIn(request, reply, await accounts.acceptInvite(request.body.token, request.body.password)),
  );

  api.get(
    '/auth/session',
    { preHandler: requireSession, schema: { tags, summary: 'The current console session', response: { 200: SessionResponse, ...errors(401) } } },
    async (request) => {
      const session = sessionOf(request);
      const { id, email, name } = session.photographer;
      return { photographer: { id, email, name }, csrf_token: session.csrfToken, expires_at: session.expiresAt.toISOString() };
    },
  );

  api.post(
    '/auth/logout',
    { preHandler: requireSession, schema: { tags, summary: 'Sign out (ends the session)', response: { 204: Type.Null(), ...errors(401, 403) } } },
    async (request, reply) => {
      await accounts.logout(sessionOf(request).id);
      clearSessionCookie(request, reply, deps.cookie);
      return reply.status(204).send(null);
    },
  );

  const toKey = (k: { id: number; name: string | null; prefix: string; created_at: Date; last_used_at: Date | null }) => ({
    ...k,
    created_at: k.created_at.toISOString(),
    last_used_at: k.last_used_at?.toISOString() ?? null,
  });

  api.get(
    '/account/keys',
    { preHandler: requireSession, schema: { tags, summary: "The photographer's live API keys", response: { 200: Type.Array(ApiKey), ...errors(401) } } },
    async (request) => (await accounts.listKeys(photographerOf(request).id)).map(toKey),
  );

  api.post(
    '/account/keys',
    {
      preHandler: requireSession,
      schema: {
        tags,
        summary: 'Create a named API key (the key is in this answer only)',
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
        response: { 201: Type.Intersect([ApiKey, Type.Object({ key: Type.String() })]), ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { info, key } = await accounts.createKey(photographerOf(request).id, request.body.name);
      return reply.status(201).send({ ...toKey(info), key });
    },
  );

  api.delete(
    '/account/keys/:key_id',
    {
      preHandler: requireSession,
      schema: {
        tags,
        summary: 'Revoke an API key',
        params: Type.Object({ key_id: Type.Integer({ minimum: 1, maximum: 2147483647 }) }),
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await accounts.revokeKey(photographerOf(request).id, request.params.key_id);
      return reply.status(204).send(null);
    },
  );
}
