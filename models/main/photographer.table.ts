import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** A photographer: owns events, authenticates with API keys. */
export interface PhotographerTable {
  id: Generated<number>;
  email: string;
  name: string | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  /** scrypt hash of the console password (`scrypt$N$r$p$salt$hash`); null until one is set. */
  password_hash: ColumnType<string | null, string | null | undefined, string | null>;
  /** Bad passwords in a row; reset by a good one. */
  failed_logins: ColumnType<number, number | undefined, number>;
  /** Sign-in refused until then (after too many bad passwords). */
  locked_until: ColumnType<Date | null, Date | null | undefined, Date | null>;
}
export type PhotographerRow = Selectable<PhotographerTable>;
export type InsertablePhotographerRow = Insertable<PhotographerTable>;
export type UpdateablePhotographerRow = Updateable<PhotographerTable>;

/** An API key; only its SHA-256 hash is stored, the key itself is shown once. */
export interface ApiKeyTable {
  id: Generated<number>;
  photographer_id: number;
  /** First characters of the key, shown in listings so a key can be recognised. */
  prefix: string;
  key_hash: string;
  /** What the photographer called the key (settings page); null for keys from the CLI. */
  name: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  last_used_at: Date | null;
  revoked_at: Date | null;
}
export type ApiKeyRow = Selectable<ApiKeyTable>;
export type InsertableApiKeyRow = Insertable<ApiKeyTable>;

/** A console session; the cookie carries a random token, only its SHA-256 is stored. */
export interface SessionTable {
  id: Generated<number>;
  photographer_id: number;
  token_hash: string;
  /** Synchronizer token the console sends back in X-CSRF-Token on every unsafe request. */
  csrf_token: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  expires_at: Date;
}
export type SessionRow = Selectable<SessionTable>;

/** A one-time link that lets a photographer choose their password. */
export interface PhotographerInviteTable {
  id: Generated<number>;
  photographer_id: number;
  token_hash: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  expires_at: Date;
  used_at: Date | null;
}
export type PhotographerInviteRow = Selectable<PhotographerInviteTable>;
