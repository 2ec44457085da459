import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { localFilePath, type UrlSigner } from '../../storage/index.js';
import { errors } from '../schemas/common.schema.js';

const CONTENT_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
};

/** Serves photos of the local-disk storage by signed, expiring link (the S3 equivalent is a presigned URL). */
export async function fileRoutes(app: FastifyInstance, deps: { dir: string; signer: UrlSigner }): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/files/*',
    {
      schema: {
        hide: true,
        querystring: Type.Object({ expires: Type.Integer(), sig: Type.String({ maxLength: 100 }) }),
        ...{ response: errors(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const key = (request.params as { '*': string })['*'];
      const { expires, sig } = request.query;
      if (!deps.signer.verify(key, expires, sig)) {
        return reply.status(403).send({ error: 'forbidden', message: 'The link is invalid or has expired' });
      }
      let file: string;
      try {
        file = localFilePath(deps.dir, key);
        await fs.access(file);
      } catch {
        return reply.status(404).send({ error: 'not_found', message: 'File not found' });
      }
      reply.header('content-type', CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream');
      reply.header('cache-control', 'private, max-age=300');
      // The security headers stay (nosniff, CSP, no framing); only the resource policy opens: a signed
      // link is meant to be shown by pages on other origins, as a presigned S3 link is.
      reply.header('cross-origin-resource-policy', 'cross-origin');
      return reply.send(createReadStream(file));
    },
  );
}
