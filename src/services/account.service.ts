import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { InvalidInputError, NotFoundError, TooManyAttemptsError, UnauthorizedError } from '../errors.js';
import type { AccountRepository, ApiKeyInfo, Session } from '../repositories/account.repository.js';
import type { Photographer, PhotographerRepository } from '../repositories/photographer.repository.js';
import { newApiKey } from './photographer.service.js';

const scrypt = promisify(crypto.scrypt) as (password: string, salt: Buffer, keylen: number, options: crypto.ScryptOptions) => Promise<Buffer>;

// scrypt at N=2^15, r=8 (≈32 MiB, ~50 ms a guess): OWASP's floor is N=2^17 for r=8 at p=1, but sign-in
// is also limited per account and per address, so the hash only has to resist an offline leak.
const SCRYPT = { N: 32768, r: 8, p: 1, keylen: 32 };
const SCRYPT_MAXMEM = 64 * 1024 * 1024;
/** Bad passwords in a row that lock an account. */
export const MAX_FAILED_LOGINS = 5;
/** How long a locked account stays locked. */
export const LOCKOUT_MS = 15 * 60_000;
/** How long an invite link from `photographer create` can be used. */
export const INVITE_TTL_MS = 7 * 24 * 3600_000;
const PASSWORD_MIN = 10;
const PASSWORD_MAX = 200;

const sha256 = (token: string): string => crypto.createHash('sha256').update(token).digest('hex');
const randomToken = (): string => crypto.randomBytes(32).toString('base64url');

/** Hashes a password as `scrypt$N$r$p$salt$hash` (base64url parts), so parameters can change later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password.normalize('NFKC'), salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: SCRYPT_MAXMEM });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** Checks a password against `hashPassword`'s output in constant time; false for any malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(password.normalize('NFKC'), Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: SCRYPT_MAXMEM,
  });
  return crypto.timingSafeEqual(actual, expected);
}

// Verified against when the email is unknown, so a wrong email costs as long as a wrong password
// (made on first need: the CLI imports this module and must not spend a hash on every command).
let dummyHash: Promise<string> | undefined;
const dummy = (): Promise<string> => (dummyHash ??= hashPassword(randomToken()));

/** A signed-in console session: `token` goes into the cookie, `csrfToken` to the page. */
export interface NewSession {
  token: string;
  csrfToken: string;
  expiresAt: Date;
  photographer: Photographer;
}

function checkPassword(password: string): void {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    throw new InvalidInputError(`The password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters long`, { field: 'password' });
  }
}

/** The web console's accounts: passwords, lockout, sessions, invite links and the photographer's API keys. */
export function createAccountService(deps: {
  accounts: AccountRepository;
  photographers: PhotographerRepository;
  /** Base of invite links (`PUBLIC_URL`). */
  publicUrl: string;
  sessionTtlMs: number;
  now?: () => Date;
}) {
  const { accounts, photographers } = deps;
  const now = deps.now ?? (() => new Date());

  const startSession = async (photographer: Photographer): Promise<NewSession> => {
    const token = randomToken();
    const csrfToken = randomToken();
    const expiresAt = new Date(now().getTime() + deps.sessionTtlMs);
    await accounts.createSession({ photographerId: photographer.id, tokenHash: sha256(token), csrfToken, expiresAt });
    return { token, csrfToken, expiresAt, photographer };
  };

  return {
    /** Sets a photographer's console password (CLI); ends their sessions. */
    async setPassword(email: string, password: string): Promise<Photographer> {
      checkPassword(password);
      const found = await photographers.findByEmail(email.trim().toLowerCase());
      if (!found) throw new InvalidInputError(`No photographer with email ${email}`, { field: 'email' });
      await accounts.setPassword(found.id, await hashPassword(password));
      return found;
    },

    /** A one-time link to choose a password, valid INVITE_TTL_MS. */
    async createInvite(photographerId: number): Promise<{ url: string; expiresAt: Date }> {
      const token = randomToken();
      const expiresAt = new Date(now().getTime() + INVITE_TTL_MS);
      await accounts.createInvite({ photographerId, tokenHash: sha256(token), expiresAt });
      // The token rides in the fragment: browsers never send it to the server or to other sites in Referer.
      return { url: `${deps.publicUrl}/invite#${token}`, expiresAt };
    },

    /** Uses an invite: sets the password and signs in. Unknown, used and expired links answer alike. */
    async acceptInvite(token: string, password: string): Promise<NewSession> {
      checkPassword(password);
      const photographerId = await accounts.consumeInvite(sha256(token));
      if (photographerId === undefined) throw new NotFoundError('Invite link (unknown, used or expired)');
      await accounts.setPassword(photographerId, await hashPassword(password));
      const photographer = await photographers.findById(photographerId);
      if (!photographer) throw new NotFoundError('Photographer');
      return startSession(photographer);
    },

    /**
     * Signs in with email and password. MAX_FAILED_LOGINS bad passwords in a row lock the account for
     * LOCKOUT_MS; while locked even the right password is refused, so guessing gains nothing.
     */
    async login(email: string, password: string): Promise<NewSession> {
      const creds = await accounts.credentialsByEmail(email.trim().toLowerCase());
      const at = now();
      if (creds?.lockedUntil && creds.lockedUntil > at) {
        const seconds = Math.ceil((creds.lockedUntil.getTime() - at.getTime()) / 1000);
        throw new TooManyAttemptsError(`Too many bad passwords: the account is locked for ${Math.ceil(seconds / 60)} min`, seconds);
      }
      const ok = await verifyPassword(password, creds?.passwordHash ?? (await dummy()));
      if (!creds || !creds.passwordHash || !ok) {
        if (creds) {
          const failure = await accounts.recordFailure(creds.photographer.id, MAX_FAILED_LOGINS, new Date(at.getTime() + LOCKOUT_MS));
          if (failure.lockedUntil && failure.lockedUntil > at) {
            throw new TooManyAttemptsError(`Too many bad passwords: the account is locked for ${LOCKOUT_MS / 60_000} min`, LOCKOUT_MS / 1000);
          }
        }
        throw new UnauthorizedError('Wrong email or password');
      }
      if (creds.failedLogins > 0 || creds.lockedUntil) await accounts.clearFailures(creds.photographer.id);
      return startSession(creds.photographer);
    },

    /** The live session behind a cookie token, or undefined. */
    async session(token: string): Promise<Session | undefined> {
      if (token.length < 20 || token.length > 100) return undefined;
      return accounts.sessionByTokenHash(sha256(token));
    },

    logout(sessionId: number): Promise<void> {
      return accounts.deleteSession(sessionId);
    },

    listKeys(photographerId: number): Promise<ApiKeyInfo[]> {
      return accounts.listKeys(photographerId);
    },

    /** Creates a named key; the key itself is returned once and only its hash is kept. */
    async createKey(photographerId: number, name: string): Promise<{ info: ApiKeyInfo; key: string }> {
      const trimmed = name.trim();
      if (!trimmed) throw new InvalidInputError('Give the key a name', { field: 'name' });
      const { key, prefix, hash } = newApiKey();
      return { info: await accounts.addNamedKey(photographerId, { name: trimmed, prefix, hash }), key };
    },

    async revokeKey(photographerId: number, keyId: number): Promise<void> {
      if (!(await accounts.revokeKey(photographerId, keyId))) throw new NotFoundError('API key');
    },
  };
}
export type AccountService = ReturnType<typeof createAccountService>;
