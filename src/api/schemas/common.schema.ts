import Type, { type Static } from 'typebox';
import { InvalidInputError } from '../../errors.js';

/** Body of every error response. */
export const ErrorResponse = Type.Object(
  {
    error: Type.String({ description: 'Stable machine-readable code, e.g. validation_error, not_found' }),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  },
  { $id: 'ErrorResponse' },
);
export type ErrorResponse = Static<typeof ErrorResponse>;

/** The largest id (PostgreSQL `integer`); larger numbers are refused before they reach SQL. */
export const MAX_ID = 2147483647;

/**
 * An id as a client writes it: plain decimal digits, no sign, no leading zero, no exponent, no
 * hex. `0x34`, `52e0`, `52.0`, `052` and `+52` are refused rather than read as 52. Integers in
 * the path and query string are held to {@link DECIMAL_INTEGER} by the input guard (the
 * validator's type coercion would accept all of those), multipart fields by {@link parseIdField}.
 */
export const ID_PATTERN = /^[1-9][0-9]{0,9}$/;

/** The only spelling of an integer accepted in a path or query string. */
export const DECIMAL_INTEGER = /^(?:0|[1-9][0-9]{0,15})$/;

/** A row id (1 … 2147483647). */
export const Id = (description?: string) => Type.Integer({ minimum: 1, maximum: MAX_ID, ...(description && { description }) });

/** A multipart field holding an id: strict decimal, in range, or a 400 naming the field. */
export function parseIdField(raw: string, field: string): number {
  const value = ID_PATTERN.test(raw) ? Number(raw) : NaN;
  if (!(value <= MAX_ID)) throw new InvalidInputError(`${field} must be an integer from 1 to ${MAX_ID}, got ${JSON.stringify(raw.slice(0, 40))}`, { field });
  return value;
}

/** `skip` for every paginated list; bounded so an absurd offset is a 400, not a database error. */
export const Skip = Type.Integer({ minimum: 0, maximum: MAX_ID, default: 0, description: 'Items to skip' });
/** `limit` for a paginated list with its own ceiling and default. */
export const Limit = (maximum: number, defaultValue: number) =>
  Type.Integer({ minimum: 1, maximum, default: defaultValue, description: `Items per page (1–${maximum})` });

/** `skip`/`limit` pagination (the seed's FastAPI convention); the total is in `X-Total-Count`. */
export const PageQuery = Type.Object({ skip: Skip, limit: Limit(200, 50) });

export const IdParams = Type.Object({ event_id: Id() });

const ref = Type.Ref('ErrorResponse');
/** Error responses a route documents, by status. */
export const errors = (...codes: number[]): Record<number, typeof ref> => Object.fromEntries(codes.map((c) => [c, ref]));

export const DateTime = Type.String({ format: 'date-time' });
// Null first: with type coercion on, a string-first union would turn null into "".
export const NullableDateTime = Type.Union([Type.Null(), DateTime]);

/**
 * A date-time a client sends: years 1000–9999 only. `0000-…` is valid RFC 3339 but neither
 * JavaScript nor PostgreSQL agree on year zero, and no event happens there.
 */
export const InputDateTime = Type.String({ format: 'date-time', pattern: '^[1-9][0-9]{3}-', description: 'RFC 3339 date-time, years 1000–9999' });
export const NullableInputDateTime = Type.Union([Type.Null(), InputDateTime]);

/** An input date-time as a `Date`; one the format admits but `Date` cannot hold (a leap second) is a 400. */
export function parseDateTime(value: string, field: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new InvalidInputError(`${field} is not a date this server can store: ${JSON.stringify(value)}`, { field });
  return date;
}
export const NullableString = (maxLength: number) => Type.Union([Type.Null(), Type.String({ maxLength })]);
