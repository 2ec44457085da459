import crypto from 'node:crypto';

/** Signs and verifies time-limited URLs for objects served by the API itself (local-disk storage). */
export interface UrlSigner {
  sign(key: string, expiresAt: number): string;
  verify(key: string, expiresAt: number, signature: string, now?: number): boolean;
}

export function createUrlSigner(secret: string): UrlSigner {
  const mac = (key: string, expiresAt: number): string =>
    crypto.createHmac('sha256', secret).update(`${key}\n${expiresAt}`).digest('base64url');
  return {
    sign: mac,
    verify(key, expiresAt, signature, now = Date.now() / 1000) {
      if (!Number.isFinite(expiresAt) || expiresAt < now) return false;
      const expected = Buffer.from(mac(key, expiresAt));
      const given = Buffer.from(signature);
      return expected.length === given.length && crypto.timingSafeEqual(expected, given);
    },
  };
}
