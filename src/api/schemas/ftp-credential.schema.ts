import Type from 'typebox';
import { DateTime, NullableDateTime } from './common.schema.js';

/** A camera FTP account as the API lists it (never its password). */
export const FtpCredentialResponse = Type.Object({
  id: Type.Integer(),
  event_id: Type.Integer(),
  username: Type.String(),
  label: Type.Union([Type.Null(), Type.String()]),
  created_at: DateTime,
  last_login_at: NullableDateTime,
  revoked_at: NullableDateTime,
});
const FtpServerHints = Type.Object(
  {
    host: Type.String({ description: 'FTP_PUBLIC_HOST, else the host of PUBLIC_URL' }),
    port: Type.Integer(),
    tls: Type.Boolean({ description: 'Explicit FTPS (AUTH TLS) is offered' }),
    passive_mode: Type.Boolean({ description: 'Always true: set the camera to passive mode' }),
  },
  { description: 'What to type into the camera' },
);
/** A just-created account: the only answer that carries its password. */
export const CreatedFtpCredential = Type.Object({
  ...FtpCredentialResponse.properties,
  password: Type.String({ description: 'Shown once: only a hash is stored' }),
  server: FtpServerHints,
});
