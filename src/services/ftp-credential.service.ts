import crypto from 'node:crypto';
import { InvalidInputError, NotFoundError } from '../errors.js';
import type { EventRepository } from '../repositories/event.repository.js';
import type { FtpCredential, FtpCredentialRepository } from '../repositories/ftp-credential.repository.js';
import { hashPassword, verifyPassword } from './account.service.js';

// Typed on a camera's on-screen keyboard: lower case and digits without look-alikes (0/o, 1/l/i).
// 16 characters of 31 symbols ≈ 79 bits, far beyond what the FTP role's per-address login limit lets anyone try.
const PASSWORD_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const PASSWORD_LENGTH = 16;
const LABEL_MAX = 100;

function randomFrom(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[crypto.randomInt(alphabet.length)];
  return out;
}

/** The account a successful FTP login belongs to. */
export interface FtpAccount {
  credentialId: number;
  eventId: number;
  photographerId: number;
  username: string;
}

// Checked when the user name is unknown, so an unknown name costs as long as a wrong password.
let dummyHash: Promise<string> | undefined;
const dummy = (): Promise<string> => (dummyHash ??= hashPassword(randomFrom(PASSWORD_ALPHABET, PASSWORD_LENGTH)));

/** Camera FTP accounts: one or more per event, made, listed and revoked by the event's owner. */
export function createFtpCredentialService(deps: { events: EventRepository; credentials: FtpCredentialRepository }) {
  const { events, credentials } = deps;

  const ownedEvent = async (photographerId: number, eventId: number) => {
    const event = await events.findOwned(photographerId, eventId);
    if (!event) throw new NotFoundError('Event');
    return event;
  };

  return {
    /** Makes an account for the event; the password is returned once and only its hash is kept. */
    async create(photographerId: number, eventId: number, label?: string | null): Promise<{ credential: FtpCredential; password: string }> {
      await ownedEvent(photographerId, eventId);
      const trimmed = label?.trim() || null;
      if (trimmed && trimmed.length > LABEL_MAX) throw new InvalidInputError(`The label must be at most ${LABEL_MAX} characters`, { field: 'label' });
      // The event id in the name tells the photographer which account is which on the camera's screen.
      const username = `ev${eventId}-${randomFrom(PASSWORD_ALPHABET, 6)}`;
      const password = randomFrom(PASSWORD_ALPHABET, PASSWORD_LENGTH);
      const credential = await credentials.create({ eventId, username, passwordHash: await hashPassword(password), label: trimmed });
      return { credential, password };
    },

    async list(photographerId: number, eventId: number): Promise<FtpCredential[]> {
      await ownedEvent(photographerId, eventId);
      return credentials.listByEvent(eventId);
    },

    /** Revokes an account: new logins are refused and files still in transfer are not ingested. */
    async revoke(photographerId: number, eventId: number, credentialId: number): Promise<void> {
      await ownedEvent(photographerId, eventId);
      if (!(await credentials.revoke(eventId, credentialId)) && !(await credentials.exists(eventId, credentialId))) {
        throw new NotFoundError('FTP credential');
      }
    },

    /** The account for a user name and password, or undefined (unknown, wrong, revoked or event deleted). */
    async authenticate(username: string, password: string): Promise<FtpAccount | undefined> {
      const login = username.length <= 64 ? await credentials.findLogin(username) : undefined;
      const ok = await verifyPassword(password.slice(0, 200), login?.passwordHash ?? (await dummy()));
      if (!login || !ok) return undefined;
      await credentials.touchLogin(login.credentialId);
      return { credentialId: login.credentialId, eventId: login.eventId, photographerId: login.photographerId, username };
    },

    /** Whether the account may still deliver files (checked again before each file is ingested). */
    isLive: (credentialId: number): Promise<boolean> => credentials.isLive(credentialId),
  };
}
export type FtpCredentialService = ReturnType<typeof createFtpCredentialService>;
