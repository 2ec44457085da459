import Type, { type Static } from 'typebox';

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

/** `skip`/`limit` pagination (the seed's FastAPI convention); the total is in `X-Total-Count`. */
export const PageQuery = Type.Object({
  skip: Type.Integer({ minimum: 0, default: 0, description: 'Items to skip' }),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'Items per page (1–200)' }),
});

export const IdParams = Type.Object({ event_id: Type.Integer({ minimum: 1, maximum: 2147483647 }) });

const ref = Type.Ref('ErrorResponse');
/** Error responses a route documents, by status. */
export const errors = (...codes: number[]): Record<number, typeof ref> => Object.fromEntries(codes.map((c) => [c, ref]));

export const DateTime = Type.String({ format: 'date-time' });
// Null first: with type coercion on, a string-first union would turn null into "".
export const NullableDateTime = Type.Union([Type.Null(), DateTime]);
export const NullableString = (maxLength: number) => Type.Union([Type.Null(), Type.String({ maxLength })]);
