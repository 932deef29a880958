// "Remember me": a session with a persistent cookie (Max-Age) and a longer lifetime in the store.
//
// Asked for by the app, never by the client: express-session's `req.session.cookie.maxAge = ms`,
// koa-session's `ctx.session.maxAge = ms`, `session.login(userId, { remember: '30d' })`, or the
// `remember` option for every session. The lifetime is the session's absolute deadline, so the store
// enforces it like any other: now + maxAge, and never past createdAt + rememberMaxAge (createdAt is
// the creation or the login). A remembered session's idle timeout is `rememberIdleTimeout` (default:
// idleTimeout). The cookie's Max-Age runs to that same deadline.
//
// Which sessions are remembered is kept in the store with the data, under REMEMBER_KEY (a reserved
// name: it never reaches the app), so every store keeps it without a change to the store contract.
// Changing the deadline of a stored session is a new id (store.rename carries the whole record, the
// only contract operation that sets absoluteExpiresAt), done by the commit: a lifetime change is a
// privilege change too.

import type { ResolvedOptions } from './options.js'
import { REMEMBER_KEY } from './session.js'
import type { RequestState } from './state.js'
import type { SessionRecord } from './store.js'
import { nextExpiry } from './timeouts.js'

export type LifetimeOptions = Pick<ResolvedOptions, 'idleTimeout' | 'absoluteTimeout' | 'remember' | 'rememberMaxAge' | 'rememberIdleTimeout'>

/** A moved deadline closer than this to the current one is not worth a new id (an app that sets maxAge on every request). */
const SAME_DEADLINE_MS = 60_000

export function idleTimeoutOf(state: Pick<RequestState, 'remembered'>, options: LifetimeOptions): number {
  return state.remembered ? options.rememberIdleTimeout : options.idleTimeout
}

/** The remembered maxAge a stored record carries, or undefined when it is not remembered. */
export function rememberedMaxAge(record: SessionRecord): number | undefined {
  const text = record.data[REMEMBER_KEY]
  if (text === undefined) return undefined
  try {
    const parsed = JSON.parse(text) as { maxAge?: unknown }
    return typeof parsed?.maxAge === 'number' && parsed.maxAge > 0 ? parsed.maxAge : undefined
  } catch {
    return undefined
  }
}

/** The marker's JSON text for the store, while remembered. */
export function rememberText(state: RequestState): string | undefined {
  return state.remembered ? JSON.stringify({ maxAge: state.rememberMs }) : undefined
}

/** The absolute deadline of a session created (or logged in) at `createdAt`, as its remember status says. */
export function absoluteDeadline(state: Pick<RequestState, 'remembered' | 'rememberMs'>, options: LifetimeOptions, createdAt: number): number {
  if (state.remembered && state.rememberMs !== undefined) return createdAt + Math.min(state.rememberMs, options.rememberMaxAge)
  return createdAt + options.absoluteTimeout
}

/**
 * Remember the session for `maxAge` ms (capped by rememberMaxAge, counted from its creation or login),
 * or, with null (or 0 and less), make its cookie a browser-session one with the ordinary lifetime again.
 */
export function remember(state: RequestState, options: LifetimeOptions, maxAge: number | null): void {
  const now = Date.now()
  let deadline: number
  if (maxAge === null || maxAge <= 0) {
    if (!state.remembered) return
    state.remembered = false
    state.rememberMs = undefined
    deadline = Math.min(state.absoluteExpiresAt, state.createdAt + options.absoluteTimeout)
  } else {
    const wanted = Math.min(maxAge, options.rememberMaxAge)
    deadline = Math.min(now + wanted, state.createdAt + options.rememberMaxAge)
    if (state.remembered && state.rememberMs === wanted && Math.abs(deadline - state.absoluteExpiresAt) < SAME_DEADLINE_MS) return
    state.remembered = true
    state.rememberMs = wanted
  }
  state.cookieNeedsSet = true
  if (deadline === state.absoluteExpiresAt) return
  state.absoluteExpiresAt = deadline
  state.expiresAt = nextExpiry(now, idleTimeoutOf(state, options), deadline)
  if (state.persisted) state.lifetimeChanged = true
}

/** When the cookie of this session expires (ms since the epoch), or undefined for a browser-session cookie. */
export function cookieExpiry(state: RequestState): number | undefined {
  return state.remembered ? state.absoluteExpiresAt : undefined
}
