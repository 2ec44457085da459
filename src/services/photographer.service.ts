import crypto from 'node:crypto';
import { ConflictError, InvalidInputError } from '../errors.js';
import type { Photographer, PhotographerRepository, PhotographerWithKeys } from '../repositories/photographer.repository.js';

const KEY_PREFIX = 'fp_';

/** Hash of an API key as stored; keys carry 256 random bits, so a plain SHA-256 is enough. */
export function hashApiKey(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}

/** A fresh API key with what is stored of it (prefix for listings, SHA-256). */
export function newApiKey(): { key: string; prefix: string; hash: string } {
  const key = `${KEY_PREFIX}${crypto.randomBytes(32).toString('base64url')}`;
  return { key, prefix: key.slice(0, 10), hash: hashApiKey(key) };
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Photographer accounts and API-key authentication. */
export function createPhotographerService(deps: { photographers: PhotographerRepository }) {
  const { photographers } = deps;
  return {
    /** Creates a photographer and returns their first API key (shown once, stored hashed). */
    async create(input: { email: string; name?: string | null }): Promise<{ photographer: Photographer; apiKey: string }> {
      const email = input.email.trim().toLowerCase();
      if (!EMAIL.test(email)) throw new InvalidInputError(`Not an email address: ${input.email}`, { field: 'email' });
      if (await photographers.findByEmail(email)) throw new ConflictError(`A photographer with email ${email} already exists`);
      const { key, prefix, hash } = newApiKey();
      const photographer = await photographers.createWithKey({ email, name: input.name?.trim() || null }, { prefix, hash });
      return { photographer, apiKey: key };
    },

    /** Issues a new key; with `revokeOthers`, every older key stops working. */
    async issueKey(email: string, options: { revokeOthers: boolean }): Promise<{ photographer: Photographer; apiKey: string }> {
      const photographer = await photographers.findByEmail(email.trim().toLowerCase());
      if (!photographer) throw new InvalidInputError(`No photographer with email ${email}`, { field: 'email' });
      if (options.revokeOthers) await photographers.revokeKeys(photographer.id);
      const { key, prefix, hash } = newApiKey();
      await photographers.addKey(photographer.id, { prefix, hash });
      return { photographer, apiKey: key };
    },

    list(): Promise<PhotographerWithKeys[]> {
      return photographers.list();
    },

    /** The photographer owning `key`, or undefined for a wrong, revoked or malformed key. */
    async authenticate(key: string): Promise<Photographer | undefined> {
      if (!key.startsWith(KEY_PREFIX) || key.length > 200) return undefined;
      return photographers.findByKeyHash(hashApiKey(key));
    },
  };
}
export type PhotographerService = ReturnType<typeof createPhotographerService>;
