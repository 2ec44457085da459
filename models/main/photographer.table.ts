import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** A photographer: owns events, authenticates with API keys. */
export interface PhotographerTable {
  id: Generated<number>;
  email: string;
  name: string | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
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
  created_at: ColumnType<Date, Date | string | undefined, never>;
  last_used_at: Date | null;
  revoked_at: Date | null;
}
export type ApiKeyRow = Selectable<ApiKeyTable>;
export type InsertableApiKeyRow = Insertable<ApiKeyTable>;
