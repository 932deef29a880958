// Per-request state: what the engine knows about one request's session between load and commit.
// Kept off the session object (under a symbol there) so user data cannot collide with it.
// The functions below are the only places that start, adopt or reset it, so the fields stay in step
// (in particular `persisted`, `sid` and `key`).

import type { ClientInfo } from './audit.js'
import { sessionFor, unwrap, type Session, type SessionHost } from './session.js'
import type { SessionRecord } from './store.js'
import { nextExpiry } from './timeouts.js'

export interface RequestState {
  readonly host: SessionHost
  session: Session
  /** The request arrived over HTTPS (directly, or per X-Forwarded-Proto with trustProxy). */
  readonly secure: boolean
  /** Client address, user agent, method and path, each already clipped to a fresh bounded copy. */
  readonly client: ClientInfo
  /** The request presented a cookie of our name (so a destroy must clear it). */
  readonly hadCookie: boolean
  readonly readOnly: boolean

  /** Undefined until first needed for a new session: most cookie-less requests never need one. */
  sid: string | undefined
  /** The store key of `sid` (a hash of it, store-key.ts): set exactly while `persisted`. */
  key: string | undefined
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
}

export interface Timeouts {
  readonly idleTimeout: number
  readonly absoluteTimeout: number
}

/** A new, empty, unsaved session for this request. */
export function freshState(
  host: SessionHost,
  timeouts: Timeouts,
  request: { secure: boolean; client: ClientInfo; hadCookie: boolean; readOnly: boolean },
): RequestState {
  const now = Date.now()
  const absoluteExpiresAt = now + timeouts.absoluteTimeout
  const state: RequestState = {
    host,
    session: undefined as unknown as Session, // set just below: the Session needs its state first
    secure: request.secure,
    client: request.client,
    hadCookie: request.hadCookie,
    readOnly: request.readOnly,
    sid: undefined,
    key: undefined,
    isNew: true,
    persisted: false,
    clearCookie: false,
    snapshot: {},
    userId: undefined,
    userChanged: false,
    createdAt: now,
    lastActiveAt: now,
    expiresAt: nextExpiry(now, timeouts.idleTimeout, absoluteExpiresAt),
    absoluteExpiresAt,
    cookieNeedsSet: true,
    touchRequested: false,
    record: undefined,
  }
  state.session = sessionFor(state)
  return state
}

/** The request's session is the stored one: take over its id, key, user and deadlines (not its data). */
export function adoptRecord(state: RequestState, timeouts: Timeouts, sid: string, key: string, record: SessionRecord, now: number): void {
  state.sid = sid
  state.key = key
  state.isNew = false
  state.persisted = true
  state.record = record
  state.userId = record.userId
  state.createdAt = record.createdAt
  state.lastActiveAt = record.lastActiveAt
  state.absoluteExpiresAt = record.absoluteExpiresAt
  state.expiresAt = nextExpiry(now, timeouts.idleTimeout, record.absoluteExpiresAt)
}

/** Back to a fresh, empty, unsaved session (after destroy, or when the record vanished). */
export function resetState(state: RequestState, timeouts: Timeouts): void {
  clearData(state)
  const now = Date.now()
  state.sid = undefined
  state.key = undefined
  state.isNew = true
  state.persisted = false
  state.snapshot = {}
  state.userId = undefined
  state.userChanged = false
  state.createdAt = now
  state.lastActiveAt = now
  state.absoluteExpiresAt = now + timeouts.absoluteTimeout
  state.expiresAt = nextExpiry(now, timeouts.idleTimeout, state.absoluteExpiresAt)
  state.cookieNeedsSet = true
  state.touchRequested = false
  state.record = undefined
}

/** Remove every data property from the session object. */
export function clearData(state: RequestState): void {
  const session = unwrap(state.session)
  for (const key of Object.keys(session)) delete (session as Record<string, unknown>)[key]
}
