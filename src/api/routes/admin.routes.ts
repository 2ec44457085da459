import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { PhotographerService } from '../../services/photographer.service.js';
import type { AccountService } from '../../services/account.service.js';
import { errors } from '../schemas/common.schema.js';

/** Header carrying the local admin token. */
export const ADMIN_TOKEN_HEADER = 'x-facepass-admin-token';

/**
 * Loopback-only admin routes for the embedded default: PGlite allows one process per data
 * directory, so while the server runs, `facepass photographer …` goes through it with a token
 * the server wrote (mode 0600) into that directory.
 */
export async function adminRoutes(app: FastifyInstance, deps: { token: string; photographers: PhotographerService; accounts: AccountService }): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const expected = Buffer.from(deps.token);
  api.addHook('onRequest', async (request, reply) => {
    const given = Buffer.from(String(request.headers[ADMIN_TOKEN_HEADER] ?? ''));
    const loopback = ['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(request.socket.remoteAddress ?? '');
    if (!loopback || given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
      return reply.status(404).send({ error: 'not_found', message: 'Not found' });
    }
  });
  const photographer = Type.Object({ id: Type.Integer(), email: Type.String(), name: Type.Union([Type.String(), Type.Null()]), created_at: Type.String() });
  api.post(
    '/photographers',
    {
      schema: {
        hide: true,
        body: Type.Object({ email: Type.String(), name: Type.Optional(Type.String()) }),
        response: { 201: Type.Object({ photographer, api_key: Type.String(), invite_url: Type.String() }), ...errors(400, 409) },
      },
    },
    async (request, reply) => {
      const { photographer: p, apiKey } = await deps.photographers.create(request.body);
      const invite = await deps.accounts.createInvite(p.id);
      return reply.status(201).send({ photographer: { ...p, created_at: p.created_at.toISOString() }, api_key: apiKey, invite_url: invite.url });
    },
  );
  api.post(
    '/photographers/password',
    {
      schema: {
        hide: true,
        body: Type.Object({ email: Type.String(), password: Type.String() }),
        response: { 200: Type.Object({ photographer }), ...errors(400) },
      },
    },
    async (request) => {
      const p = await deps.accounts.setPassword(request.body.email, request.body.password);
      return { photographer: { ...p, created_at: p.created_at.toISOString() } };
    },
  );
  api.post(
    '/photographers/keys',
    {
      schema: {
        hide: true,
        body: Type.Object({ email: Type.String(), revoke_others: Type.Boolean() }),
        response: { 201: Type.Object({ photographer, api_key: Type.String() }), ...errors(400) },
      },
    },
    async (request, reply) => {
      const { photographer: p, apiKey } = await deps.photographers.issueKey(request.body.email, { revokeOthers: request.body.revoke_others });
      return reply.status(201).send({ photographer: { ...p, created_at: p.created_at.toISOString() }, api_key: apiKey });
    },
  );
  api.get(
    '/photographers',
    { schema: { hide: true, response: { 200: Type.Array(Type.Intersect([photographer, Type.Object({ active_keys: Type.Integer() })])) } } },
    async () => (await deps.photographers.list()).map((p) => ({ ...p, created_at: p.created_at.toISOString() })),
  );
}
