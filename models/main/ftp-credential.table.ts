import type { ColumnType, Generated, Selectable } from 'kysely';

/** A camera's FTP account for one event (camera FTP ingest); the password is kept as a scrypt hash. */
export interface FtpCredentialTable {
  id: Generated<number>;
  event_id: number;
  username: string;
  password_hash: string;
  label: string | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  last_login_at: Date | null;
  revoked_at: Date | null;
}
export type FtpCredentialRow = Selectable<FtpCredentialTable>;
