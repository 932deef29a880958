// Per-request state: what the engine knows about one request's session between load and commit.
// Kept off the session object (under a symbol there) so user data cannot collide with it.
// The functions below are the only places that start, adopt or reset it, so the fields stay in step
// (in particular `persisted`, `sid` and `key`).

import type { ClientInfo } from './audit.js'
import { sessionFor, unwrap, type Session, type SessionHost } from './session.js'
import type { SessionRecord } from './store.js'
import { absoluteDeadline, idleTimeoutOf, rememberedMaxAge, type LifetimeOptions } from './remember.js'
import { nextExpiry } from './timeouts.js'

export interface RequestState {
  readonly host: SessionHost
  session: Session
  /**
   * The request arrived over HTTPS (directly, or per X-Forwarded-Proto with trustProxy). Worked out on
   * first read, as `client` is: only a cookie to set needs it.
   */
  readonly secure: boolean
  /**
   * Client address, user agent, method and path, each already clipped to a fresh bounded copy. Worked
   * out on first read (an event, a new record, rejectLimit): a plain read + write of an existing session
   * never asks the framework for its client address (Express's req.ip walks proxy-addr).
   */
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
  /** destroy()/logout() ran in this request: saveUninitialized does not store the empty session after it. */
  destroyed: boolean
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

export type Timeouts = LifetimeOptions

/** How freshState learns the request's protocol and client: asked on first read, at most once. */
export interface RequestFacts {
  secure: () => boolean
  client: () => ClientInfo
  hadCookie: boolean
  readOnly: boolean
  flavour?: 'express' | 'koa' | undefined
}

/**
 * RequestState as a class, so that `secure` and `client` can be lazy getters on its prototype: the
 * same getters on each object (an object literal) cost every request a runtime call to build them.
 */
class State implements RequestState {
  readonly host: SessionHost
  session: Session = undefined as unknown as Session // set by freshState: the Session needs its state first
  readonly hadCookie: boolean
  readonly readOnly: boolean
  sid: string | undefined = undefined
  key: string | undefined = undefined
  isNew = true
  persisted = false
  clearCookie = false
  destroyed = false
  snapshot: Record<string, string> = {}
  userId: string | undefined = undefined
  userChanged = false
  createdAt: number
  lastActiveAt: number
  expiresAt: number
  absoluteExpiresAt: number
  cookieNeedsSet = true
  touchRequested = false
  record: SessionRecord | undefined = undefined
  readonly flavour: 'express' | 'koa' | undefined
  remembered: boolean
  rememberMs: number | undefined
  lifetimeChanged = false
  manualCommit: (() => Promise<void>) | undefined = undefined
  cookieView: object | undefined = undefined
  readonly #facts: RequestFacts
  #secure: boolean | undefined
  #client: ClientInfo | undefined

  constructor(host: SessionHost, timeouts: Timeouts, facts: RequestFacts) {
    const now = Date.now()
    this.host = host
    this.hadCookie = facts.hadCookie
    this.readOnly = facts.readOnly
    this.flavour = facts.flavour
    this.#facts = facts
    this.remembered = timeouts.remember !== undefined
    this.rememberMs = timeouts.remember
    this.createdAt = now
    this.lastActiveAt = now
    this.absoluteExpiresAt = absoluteDeadline(this, timeouts, now)
    this.expiresAt = nextExpiry(now, idleTimeoutOf(this, timeouts), this.absoluteExpiresAt)
  }

  get secure(): boolean {
    return (this.#secure ??= this.#facts.secure())
  }

  get client(): ClientInfo {
    return (this.#client ??= this.#facts.client())
  }
}

/** A new, empty, unsaved session for this request. */
export function freshState(host: SessionHost, timeouts: Timeouts, facts: RequestFacts): RequestState {
  const state = new State(host, timeouts, facts)
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
  state.rememberMs = rememberedMaxAge(record)
  state.remembered = state.rememberMs !== undefined
  state.lifetimeChanged = false
  state.expiresAt = nextExpiry(now, idleTimeoutOf(state, timeouts), record.absoluteExpiresAt)
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
  // A new session: remembered only when every session is (the `remember` option).
  state.remembered = timeouts.remember !== undefined
  state.rememberMs = timeouts.remember
  state.lifetimeChanged = false
  state.absoluteExpiresAt = absoluteDeadline(state, timeouts, now)
  state.expiresAt = nextExpiry(now, idleTimeoutOf(state, timeouts), state.absoluteExpiresAt)
  state.cookieNeedsSet = true
  state.touchRequested = false
  state.record = undefined
}

/** Remove every data property from the session object. */
export function clearData(state: RequestState): void {
  const session = unwrap(state.session)
  for (const key of Object.keys(session)) delete (session as Record<string, unknown>)[key]
}

/**
 * The session's data becomes exactly `data`'s own enumerable properties, same id and user
 * (koa-session's `ctx.session = { ... }`). What `data` holds is read before anything is cleared, so a
 * spread of the session itself (`{ ...ctx.session, flash: undefined }`) works; each key is set through
 * the session, so reserved names are refused as on any write. Anything but a plain object (null, an
 * array, a string) is a TypeError naming what was `assigned` (`ctx.session`, `req.session`). Shared by
 * every adapter that offers it.
 */
export function replaceData(state: RequestState, data: unknown, assigned = 'the session'): void {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new TypeError(`${assigned} can only be set to null (to destroy the session) or an object (to replace its data).`)
  }
  const session = state.session as unknown as Record<string, unknown>
  if (data === session) return
  const next = { ...data }
  // Through the session, not its target: a read-only session throws SessionReadOnly before anything changes.
  for (const key of Object.keys(session)) delete session[key]
  Object.assign(session, next)
}
