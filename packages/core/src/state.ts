// Per-request state: what the engine knows about one request's session between load and commit.
// Kept off the session object (under a symbol there) so user data cannot collide with it.

import type { ClientInfo } from './audit.js'
import type { Session, SessionHost } from './session.js'
import type { SessionRecord } from './store.js'

export interface RequestState {
  readonly host: SessionHost
  session: Session
  /** The request arrived over HTTPS (directly, or per X-Forwarded-Proto with trustProxy). */
  readonly secure: boolean
  readonly client: ClientInfo
  /** The request presented a cookie of our name (so a destroy must clear it). */
  readonly hadCookie: boolean
  readonly readOnly: boolean

  /** Undefined until first needed for a new session: most cookie-less requests never need one. */
  sid: string | undefined
  isNew: boolean
  /** Exists in the store (created, or loaded). */
  persisted: boolean
  /** Send a clearing Set-Cookie unless a new session is written (after destroy, or a vanished record). */
  clearCookie: boolean
  /** JSON text per key as last loaded from / written to the store. */
  snapshot: Record<string, string>
  userId: string | undefined
  /** The bound user changed since the snapshot (login on a not-yet-persisted session). */
  userChanged: boolean
  createdAt: number
  lastActiveAt: number
  expiresAt: number
  absoluteExpiresAt: number
  /** The client's cookie must be (re)written: new or regenerated id, or sealed with an old secret. */
  cookieNeedsSet: boolean
  touchRequested: boolean
  /** The record as loaded, for the ip/userAgent it carries. */
  record: SessionRecord | undefined

  // ---- compat (express-session / koa-session idioms; see compat/)
  /** Which peer library's idioms the adapter follows (express: `regenerate(cb)` starts with empty data). */
  readonly flavour: 'express' | 'koa' | undefined
  /** "Remember me": a persistent cookie (Max-Age) and the lifetime that goes with it. */
  remembered: boolean
  /** The maxAge asked for (ms, already capped by rememberMaxAge), while remembered. */
  rememberMs: number | undefined
  /** The lifetime changed on a stored session: the commit moves it to a new id with the new deadline. */
  lifetimeChanged: boolean
  /** koa-session's `autoCommit: false`: set by the adapter, runs the commit now and sets the cookie. */
  manualCommit: (() => Promise<void>) | undefined
  /** The `session.cookie` view, made on first use. */
  cookieView: object | undefined
}
