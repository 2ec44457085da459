import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Config } from '../../config.js';
import type { FtpCredential } from '../../repositories/ftp-credential.repository.js';
import type { FtpCredentialService } from '../../services/ftp-credential.service.js';
import { photographerOf } from '../plugins/auth.js';
import { errors, Id, IdParams } from '../schemas/common.schema.js';
import { CreatedFtpCredential, FtpCredentialResponse } from '../schemas/ftp-credential.schema.js';

const toResponse = (c: FtpCredential) => ({
  id: c.id,
  event_id: c.event_id,
  username: c.username,
  label: c.label,
  created_at: c.created_at.toISOString(),
  last_login_at: c.last_login_at?.toISOString() ?? null,
  revoked_at: c.revoked_at?.toISOString() ?? null,
});

/** Per-event camera FTP accounts (owner only; another photographer's event is a 404). */
export async function ftpCredentialRoutes(
  app: FastifyInstance,
  deps: { credentials: FtpCredentialService; requirePhotographer: onRequestAsyncHookHandler; config: Config },
): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { credentials, requirePhotographer, config } = deps;
  const secured = { tags: ['ftp'], security: [{ bearerAuth: [] }] };
  const server = {
    host: config.ftp.publicHost ?? new URL(config.http.publicUrl).hostname,
    port: config.ftp.port ?? 21,
    tls: config.ftp.tls !== undefined,
    passive_mode: true,
  };

  api.post(
    '/events/:event_id/ftp-credentials',
    {
      onRequest: requirePhotographer,
      schema: {
        ...secured,
        summary: "Create an FTP account for a camera: files it stores go into this event's photos",
        description: 'The password is returned once. Each account sees its own empty folder; what the camera stores is ingested like an upload, marked live, then removed from the FTP side.',
        params: IdParams,
        body: Type.Optional(Type.Object({ label: Type.Optional(Type.String({ maxLength: 100, description: 'e.g. "Sony A7 IV, Anna"' })) }, { additionalProperties: false })),
        response: { 201: CreatedFtpCredential, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { credential, password } = await credentials.create(photographerOf(request).id, request.params.event_id, request.body?.label);
      return reply.status(201).send({ ...toResponse(credential), password, server });
    },
  );

  api.get(
    '/events/:event_id/ftp-credentials',
    {
      onRequest: requirePhotographer,
      schema: { ...secured, summary: "The event's FTP accounts, revoked ones included (never passwords)", params: IdParams, response: { 200: Type.Array(FtpCredentialResponse), ...errors(400, 401, 404) } },
    },
    async (request) => (await credentials.list(photographerOf(request).id, request.params.event_id)).map(toResponse),
  );

  api.delete(
    '/events/:event_id/ftp-credentials/:credential_id',
    {
      onRequest: requirePhotographer,
      schema: {
        ...secured,
        summary: 'Revoke an FTP account: new logins are refused, files in transfer are not ingested',
        params: Type.Object({ event_id: Id(), credential_id: Id() }),
        response: { 204: Type.Null(), ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      await credentials.revoke(photographerOf(request).id, request.params.event_id, request.params.credential_id);
      return reply.status(204).send(null);
    },
  );
}
