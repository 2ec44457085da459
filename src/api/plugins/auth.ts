import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '../../errors.js';
import type { Photographer } from '../../repositories/photographer.repository.js';
import type { Session } from '../../repositories/account.repository.js';
import type { PhotographerService } from '../../services/photographer.service.js';
import type { AccountService, NewSession } from '../../services/account.service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requirePhotographer` on authenticated routes. */
    photographer: Photographer | null;
    /** The console session, when the request was authenticated by cookie (not by API key). */
    session: Session | null;
  }
}

/** The console's session cookie (httpOnly: scripts never see it). */
export const SESSION_COOKIE = 'facepass_session';
/** Header the console sends with every unsafe request: the session's synchronizer token. */
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The value of one cookie from the Cookie header, or undefined. */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return ''; // a malformed value is no credential (and never a 500)
      }
    }
  }
  return undefined;
}

/** How the session cookie is written: `secure` 'auto' marks it Secure when the request came over HTTPS. */
export interface CookieOptions {
  secure: 'auto' | boolean;
}

const cookieAttributes = (request: FastifyRequest, options: CookieOptions): string => {
  const secure = options.secure === 'auto' ? request.protocol === 'https' : options.secure;
  // SameSite=Strict: the browser never sends it on a cross-site request, the first line against CSRF.
  return `Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
};

/** Sets the session cookie for a new session. */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, session: NewSession, options: CookieOptions): void {
  const maxAge = Math.max(0, Math.floor((session.expiresAt.getTime() - Date.now()) / 1000));
  reply.header('set-cookie', `${SESSION_COOKIE}=${session.token}; Max-Age=${maxAge}; ${cookieAttributes(request, options)}`);
}

/** Clears the session cookie. */
export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply, options: CookieOptions): void {
  reply.header('set-cookie', `${SESSION_COOKIE}=; Max-Age=0; ${cookieAttributes(request, options)}`);
}

/** Whether the request carries credentials of either kind (API key header or session cookie). */
export function hasCredentials(request: FastifyRequest): boolean {
  return request.headers.authorization !== undefined || readCookie(request, SESSION_COOKIE) !== undefined;
}

/**
 * Builds the preHandlers of authenticated routes. `requirePhotographer` admits an
 * `Authorization: Bearer <api key>` or a console session cookie, the latter with its CSRF token in
 * `X-CSRF-Token` on every unsafe method; `requireSession` admits only the cookie (account settings
 * are not for scripts: an API key cannot mint or revoke keys).
 */
export function createPhotographerAuth(app: FastifyInstance, photographers: PhotographerService, accounts: AccountService) {
  app.decorateRequest('photographer', null);
  app.decorateRequest('session', null);

  const bySession = async (request: FastifyRequest, token: string): Promise<void> => {
    const session = await accounts.session(token);
    if (!session) throw new UnauthorizedError('The session has expired: sign in again');
    if (!SAFE_METHODS.has(request.method)) {
      const given = Buffer.from(String(request.headers[CSRF_HEADER] ?? ''));
      const expected = Buffer.from(session.csrfToken);
      if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
        throw new ForbiddenError('Missing or wrong X-CSRF-Token header');
      }
    }
    request.session = session;
    request.photographer = session.photographer;
    request.log = request.log.child({ photographer: session.photographer.id, via: 'session' });
  };

  const requirePhotographer = async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    if (header === undefined) {
      const token = readCookie(request, SESSION_COOKIE);
      if (token) return bySession(request, token);
      throw new UnauthorizedError();
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw new UnauthorizedError();
    const photographer = await photographers.authenticate(match[1]);
    if (!photographer) throw new UnauthorizedError('The API key is invalid or revoked');
    request.photographer = photographer;
    request.log = request.log.child({ photographer: photographer.id });
  };

  const requireSession = async (request: FastifyRequest): Promise<void> => {
    const token = readCookie(request, SESSION_COOKIE);
    if (!token) throw new UnauthorizedError('Sign in to the console: this needs a session, not an API key');
    await bySession(request, token);
  };

  return { requirePhotographer, requireSession };
}

/** The authenticated photographer; only call on routes guarded by `requirePhotographer`. */
export function photographerOf(request: FastifyRequest): Photographer {
  if (!request.photographer) throw new UnauthorizedError();
  return request.photographer;
}

/** The console session; only call on routes guarded by `requireSession`. */
export function sessionOf(request: FastifyRequest): Session {
  if (!request.session) throw new UnauthorizedError();
  return request.session;
}
