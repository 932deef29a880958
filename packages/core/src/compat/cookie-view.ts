// `req.session.cookie`: express-session's Cookie, as a view of what sesame decides server-side.
// maxAge / expires read the cookie's remaining life (null: a browser-session cookie). Setting them is
// "remember me": the session gets a persistent cookie and a longer lifetime in the store, bounded by
// `rememberMaxAge` (the engine enforces it; the client never can extend anything). The other
// attributes come from the `cookie` options and cannot change per request.

import { SessionCompatUnsupported } from '../errors.js'
import type { RequestState } from '../state.js'

export interface CookieAttributes {
  readonly path: string
  readonly domain: string | undefined
  readonly secure: boolean
  readonly httpOnly: boolean
  readonly sameSite: 'lax' | 'strict' | 'none' | false
  readonly partitioned: boolean
}

/** What the view needs from the engine. */
export interface CookieHost {
  cookieAttributes(state: RequestState): CookieAttributes
  /** ms: persistent cookie and lifetime of about that long (bounded); null: a browser-session cookie. */
  remember(state: RequestState, maxAge: number | null): void
}

const fixed = (name: string) =>
  new SessionCompatUnsupported(
    `setting session.cookie.${name} per request`,
    `cookie attributes are the same for every session; set \`cookie.${name}\` in the session() options.`,
  )

function toMs(value: unknown, what: string): number | null {
  if (value === null || value === undefined || value === false) return null
  if (value instanceof Date) return value.getTime() - Date.now()
  if (typeof value === 'number' && Number.isFinite(value)) return value
  throw new TypeError(`sesame: session.cookie.${what} takes a number of milliseconds${what === 'expires' ? ' or a Date' : ''}, or null.`)
}

export class SessionCookie {
  readonly #state: RequestState
  readonly #host: CookieHost

  constructor(state: RequestState, host: CookieHost) {
    this.#state = state
    this.#host = host
  }

  /** Milliseconds until the cookie expires; null for a browser-session cookie. */
  get maxAge(): number | null {
    return this.#state.remembered ? Math.max(0, this.#state.absoluteExpiresAt - Date.now()) : null
  }
  set maxAge(value: number | null) {
    this.#host.remember(this.#state, toMs(value, 'maxAge'))
  }

  get expires(): Date | null {
    return this.#state.remembered ? new Date(this.#state.absoluteExpiresAt) : null
  }
  set expires(value: Date | null) {
    this.#host.remember(this.#state, toMs(value, 'expires'))
  }

  /** The maxAge last asked for (capped by rememberMaxAge); null for a browser-session cookie. */
  get originalMaxAge(): number | null {
    return this.#state.remembered ? (this.#state.rememberMs ?? null) : null
  }

  get path(): string {
    return this.#host.cookieAttributes(this.#state).path
  }
  set path(_value: string) {
    throw fixed('path')
  }
  get domain(): string | undefined {
    return this.#host.cookieAttributes(this.#state).domain
  }
  set domain(_value: string | undefined) {
    throw fixed('domain')
  }
  get secure(): boolean {
    return this.#host.cookieAttributes(this.#state).secure
  }
  set secure(_value: boolean) {
    throw fixed('secure')
  }
  get httpOnly(): boolean {
    return this.#host.cookieAttributes(this.#state).httpOnly
  }
  set httpOnly(_value: boolean) {
    throw fixed('httpOnly')
  }
  get sameSite(): 'lax' | 'strict' | 'none' | false {
    return this.#host.cookieAttributes(this.#state).sameSite
  }
  set sameSite(_value: 'lax' | 'strict' | 'none' | false) {
    throw fixed('sameSite')
  }
  get partitioned(): boolean {
    return this.#host.cookieAttributes(this.#state).partitioned
  }
  set partitioned(_value: boolean) {
    throw fixed('partitioned')
  }

  /** express-session's cookie.resetMaxAge(): the remaining life starts again from originalMaxAge. */
  resetMaxAge(): void {
    if (this.#state.remembered && this.#state.rememberMs !== undefined) this.#host.remember(this.#state, this.#state.rememberMs)
  }

  toJSON(): Record<string, unknown> {
    const attributes = this.#host.cookieAttributes(this.#state)
    return { originalMaxAge: this.originalMaxAge, expires: this.expires?.toISOString() ?? null, ...attributes }
  }
}
