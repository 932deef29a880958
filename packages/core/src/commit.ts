// commit: write what the request changed, then say which Set-Cookie to send (the second half of the
// state machine in engine.ts). `persist` is also session.save().
//
//   read-only request ............................ store.touch when due; never data, never a cookie
//   fresh, nothing written ....................... nothing (unless saveUninitialized, or a bound user)
//   fresh, written ............................... store.create + Set-Cookie + session.created
//   existing, keys changed ....................... store.update(only the changed keys)
//   existing, unchanged .......................... store.touch, at most once per touchInterval
//   update/touch finds no record ................. destroyed meanwhile: clear the cookie, never resurrect
//   destroyed in this request .................... clearing Set-Cookie (or a new session if rewritten)

import { clipCopy } from './clip.js'
import { serializeClearCookie, serializeCookie } from './cookie.js'
import type { EngineContext } from './engine-context.js'
import { SessionStoreUnavailable } from './errors.js'
import { newSessionId } from './id.js'
import { regenerate } from './rebind.js'
import { cookieExpiry, idleTimeoutOf } from './remember.js'
import { diffData, hasNoData, isEmpty, serializeSession, type DataTexts } from './session-data.js'
import { resetState, type RequestState } from './state.js'
import { storeCall } from './store-call.js'
import { storeKey } from './store-key.js'
import type { SessionRecord } from './store.js'
import { nextExpiry } from './timeouts.js'

/** Longest ip / user agent kept in a store record (for "your sessions" pages). */
const MAX_RECORD_FIELD = 256

/** Write the request's changes; returns the Set-Cookie value to send, if any. */
export async function commit(context: EngineContext, state: RequestState): Promise<string | undefined> {
  if (state.readOnly) {
    await touchReadOnly(context, state)
    return undefined
  }
  await persist(context, state, false)
  const cookie = context.options.cookie
  if (state.persisted) {
    if (!state.cookieNeedsSet) return undefined
    state.cookieNeedsSet = false
    const sealed = await context.sealer.seal({ sid: state.sid!, createdAt: state.createdAt })
    return serializeCookie(cookie, sealed, secureCookie(context, state), cookieExpiry(state))
  }
  if (state.clearCookie) {
    state.clearCookie = false
    return serializeClearCookie(cookie, secureCookie(context, state))
  }
  return undefined
}

/**
 * A read-only request (a Next.js server component) cannot set cookies, but it is activity: refresh
 * the store's activity time when due. Only that: even a nested mutation of its data is never written.
 */
async function touchReadOnly(context: EngineContext, state: RequestState): Promise<void> {
  const now = Date.now()
  if (!state.persisted || now - state.lastActiveAt < context.options.touchInterval) return
  const key = state.key!
  const expiresAt = nextExpiry(now, idleTimeoutOf(state, context.options), state.absoluteExpiresAt)
  if (await storeCall(context.audit, 'touch', key, state, () => context.store.touch(key, now, expiresAt))) {
    state.lastActiveAt = now
    state.expiresAt = expiresAt
  }
}

export function secureCookie(context: EngineContext, state: RequestState): boolean {
  const secure = context.options.cookie.secure
  return secure === 'auto' ? state.secure : secure
}

/** The store half of commit (also `session.save()`): create, update or touch. */
export async function persist(context: EngineContext, state: RequestState, explicit: boolean): Promise<void> {
  const { options, store, audit } = context
  if (state.lifetimeChanged && state.persisted) {
    // "Remember me" moved the deadline of a stored session: only a new id's whole record can carry it.
    await regenerate(context, state, false)
  }
  state.lifetimeChanged = false
  const texts = serializeSession(state, options.maxSessionBytes)
  const now = Date.now()
  if (!state.persisted) {
    // saveUninitialized never stores the empty session that follows a destroy in the same request.
    if (hasNoData(texts) && !explicit && (!options.saveUninitialized || state.destroyed) && state.userId === undefined) return
    await create(context, state, texts, now)
    // Asked only when someone listens: reading state.client works out the client address.
    if (audit.enabled) audit.emit('session.created', state.key!, state.client)
    return
  }
  const { set, unset } = diffData(state.snapshot, texts)
  const changed = state.userChanged || !isEmpty(set) || unset.length > 0
  const key = state.key!
  const expiresAt = nextExpiry(now, idleTimeoutOf(state, options), state.absoluteExpiresAt)
  let applied: boolean
  if (changed) {
    const userId = state.userChanged ? (state.userId ?? null) : undefined
    applied = await storeCall(audit, 'update', key, state, () => store.update(key, { set, unset, userId, lastActiveAt: now, expiresAt }))
    if (applied) {
      state.snapshot = texts
      state.userChanged = false
    }
  } else if (state.touchRequested || now - state.lastActiveAt >= options.touchInterval) {
    applied = await storeCall(audit, 'touch', key, state, () => store.touch(key, now, expiresAt))
  } else {
    return
  }
  state.touchRequested = false
  if (applied) {
    state.lastActiveAt = now
    state.expiresAt = expiresAt
    return
  }
  // The session was destroyed or revoked by a concurrent request: never bring it back.
  resetState(state, options)
  state.clearCookie = true
}

/** The record a new (or renamed) session is stored as, from the request's state and data. */
export function recordOf(context: EngineContext, state: RequestState, texts: DataTexts, now: number): SessionRecord {
  return {
    data: texts,
    userId: state.userId,
    createdAt: state.createdAt,
    lastActiveAt: now,
    expiresAt: nextExpiry(now, idleTimeoutOf(state, context.options), state.absoluteExpiresAt),
    absoluteExpiresAt: state.absoluteExpiresAt,
    // The address and browser are kept for sessions bound to a user only: listUserSessions, which
    // lists bound sessions, is their one reader (a login stores a new record with them). So an
    // anonymous session never asks the framework for the client address (Express's req.ip runs
    // proxy-addr) and its record is two strings smaller; the audit's session.created has both.
    ip: state.userId === undefined ? undefined : clipCopy(state.client.ip, MAX_RECORD_FIELD),
    userAgent: state.userId === undefined ? undefined : clipCopy(state.client.userAgent, MAX_RECORD_FIELD),
  }
}

/** The request's session is now stored under `sid` / `key` as `record`. */
export function markPersisted(state: RequestState, sid: string, key: string, record: SessionRecord): void {
  state.sid = sid
  state.key = key
  state.persisted = true
  state.snapshot = record.data as DataTexts
  state.userChanged = false
  state.lastActiveAt = record.lastActiveAt
  state.expiresAt = record.expiresAt
  state.cookieNeedsSet = true
  state.clearCookie = false
  state.record = record
}

/** store.create under the session's id (or a new one): never into an existing session. */
export async function create(context: EngineContext, state: RequestState, texts: DataTexts, now: number): Promise<void> {
  const record = recordOf(context, state, texts, now)
  let sid = state.sid ?? newSessionId()
  for (let attempt = 0; ; attempt++) {
    const key = await storeKey(sid)
    if (await storeCall(context.audit, 'create', key, state, () => context.store.create(key, record))) {
      markPersisted(state, sid, key, record)
      return
    }
    // An id collision (2^-144) or a client-influenced id: never write into someone else's session.
    state.sid = undefined
    if (attempt >= 3) throw new SessionStoreUnavailable('create (the store refused every new id)')
    sid = newSessionId()
  }
}
