// One class per failure, each with a stable `code` that callers can switch on.
// Messages say what to do, and never carry a session id, a cookie value or a secret.

/**
 * The base of every sesame error. `Code` is the string-literal union of the codes a family of errors
 * carries (SessionErrorCode, below, for core's), the audit log's own for @sesame/audit-log.
 */
export class SesameError<Code extends string = string> extends Error {
  readonly code: Code
  /** HTTP status an adapter should answer with when this error reaches the framework. */
  readonly status: number
  readonly statusCode: number
  /** Safe to show to the client (Koa and Express error handlers look at `expose`). */
  readonly expose: boolean

  constructor(code: Code, message: string, status = 500, options?: { cause?: unknown; expose?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.status = status
    this.statusCode = status
    this.expose = options?.expose ?? false
  }
}

/** An option passed to `session()` / `nextSession()` / a store is wrong. Thrown at start-up. */
export class SessionConfigError extends SesameError<'SESSION_CONFIG_INVALID'> {
  constructor(message: string) {
    super('SESSION_CONFIG_INVALID', `sesame: ${message}`)
  }
}

/** The store failed or timed out. Adapters answer 503; the session is never silently replaced. */
export class SessionStoreUnavailable extends SesameError<'SESSION_STORE_UNAVAILABLE'> {
  constructor(operation: string, options?: { cause?: unknown }) {
    super(
      'SESSION_STORE_UNAVAILABLE',
      `sesame: the session store failed during ${operation}; the request was not served with a fresh session so that users are not logged out by an outage. Check the store (see the cause).`,
      503,
      options,
    )
  }
}

/** The session's data, serialized, is larger than `maxSessionBytes`. */
export class SessionTooLarge extends SesameError<'SESSION_TOO_LARGE'> {
  readonly bytes: number
  readonly limit: number
  constructor(bytes: number, limit: number) {
    super(
      'SESSION_TOO_LARGE',
      `sesame: session data is ${bytes} bytes as JSON, over maxSessionBytes (${limit}). Keep large data elsewhere and store a reference in the session, or raise maxSessionBytes.`,
    )
    this.bytes = bytes
    this.limit = limit
  }
}

/** A session value cannot be stored as JSON (function, BigInt, symbol, cycle, undefined...). */
export class SessionDataInvalid extends SesameError<'SESSION_DATA_INVALID'> {
  readonly key: string
  constructor(key: string, reason: string, options?: { cause?: unknown }) {
    super(
      'SESSION_DATA_INVALID',
      `sesame: session.${key} cannot be stored: ${reason}. Session values must be JSON (strings, numbers, booleans, null, arrays and plain objects).`,
      500,
      options,
    )
    this.key = key
  }
}

/** A write was attempted on a read-only session (e.g. in a Next.js server component). */
export class SessionReadOnly extends SesameError<'SESSION_READ_ONLY'> {
  constructor(what: string) {
    super(
      'SESSION_READ_ONLY',
      `sesame: ${what} is not allowed here: this session is read-only (server components cannot set cookies). Change the session in a server action or a route handler.`,
    )
  }
}

/** Raised by `rejectLimit`: too many rejected cookies from one client. */
export class SessionRejectLimit extends SesameError<'SESSION_REJECT_LIMIT'> {
  constructor() {
    super('SESSION_REJECT_LIMIT', 'sesame: too many invalid session cookies from this client; try again later.', 429, { expose: true })
  }
}

/** Every `code` an error of @sesame/core carries: switch on it after `error instanceof SesameError`. */
export type SessionErrorCode =
  | SessionConfigError['code']
  | SessionStoreUnavailable['code']
  | SessionTooLarge['code']
  | SessionDataInvalid['code']
  | SessionReadOnly['code']
  | SessionRejectLimit['code']
