import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../../errors.js';
import type { Photographer } from '../../repositories/photographer.repository.js';
import type { PhotographerService } from '../../services/photographer.service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requirePhotographer` on authenticated routes. */
    photographer: Photographer | null;
  }
}

/**
 * Builds the hook that admits only requests with a valid `Authorization: Bearer <api key>`. Routes
 * run it `onRequest`, before the body is read or validated: a caller without a key costs no body
 * parsing and learns nothing from validation messages.
 */
export function createPhotographerAuth(app: FastifyInstance, photographers: PhotographerService) {
  app.decorateRequest('photographer', null);
  return async function requirePhotographer(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1]) throw new UnauthorizedError();
    const photographer = await photographers.authenticate(match[1]);
    if (!photographer) throw new UnauthorizedError('The API key is invalid or revoked');
    request.photographer = photographer;
    request.log = request.log.child({ photographer: photographer.id });
  };
}

/** The authenticated photographer; only call on routes guarded by `requirePhotographer`. */
export function photographerOf(request: FastifyRequest): Photographer {
  if (!request.photographer) throw new UnauthorizedError();
  return request.photographer;
}
