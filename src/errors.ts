/**
 * Domain errors. Services throw these; each entry point maps them once
 * (HTTP status in the API, a message in the bot, UnrecoverableError in workers).
 */
export class DomainError extends Error {
  constructor(
    /** Stable machine-readable code, returned to API clients. */
    readonly code: string,
    message: string,
    /** Extra data for the client, e.g. the field that failed. */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The thing does not exist, or the caller may not know it exists. */
export class NotFoundError extends DomainError {
  constructor(what: string) {
    super('not_found', `${what} not found`);
  }
}

/** The request conflicts with existing state (e.g. a duplicate UUID). */
export class ConflictError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('conflict', message, details);
  }
}

/** Input is well-formed but breaks a rule. */
export class InvalidInputError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('invalid_input', message, details);
  }
}

/** No valid credentials. */
export class UnauthorizedError extends DomainError {
  constructor(message = 'A valid API key is required: Authorization: Bearer <key>') {
    super('unauthorized', message);
  }
}

/** A backing service (database, storage, queue) cannot be reached; the client may retry. */
export class UnavailableError extends DomainError {
  constructor(what: string, cause?: unknown) {
    super('unavailable', `${what} is unavailable, please retry later`);
    if (cause !== undefined) this.cause = cause;
  }
}

/** Too many requests from one client; `retryAfterSeconds` goes to the `Retry-After` header. */
export class RateLimitedError extends DomainError {
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', `Too many requests: retry in ${retryAfterSeconds} s`, { retry_after_seconds: retryAfterSeconds });
  }
}

/** Too many attempts (sign-in lockout or rate limit); the client may retry after `retry_after_seconds`. */
export class TooManyAttemptsError extends DomainError {
  constructor(message: string, retryAfterSeconds: number) {
    super('too_many_attempts', message, { retry_after_seconds: retryAfterSeconds });
  }
}

/** Authenticated, but the request lacks what this kind of credential needs (e.g. a CSRF token). */
export class ForbiddenError extends DomainError {
  constructor(message: string) {
    super('forbidden', message);
  }
}
