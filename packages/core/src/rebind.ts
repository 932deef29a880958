// regenerate() and login(): the session gets a new id (and, on login, a user and a new start time)
// and keeps its data; the old id stops working.
//
// The id change is ONE store operation, store.rename(oldKey, newKey, record): there is no moment at
// which both ids or neither are stored, whatever order a stalled store applies late commands in.
// When rename fails or times out, the engine asks for store.undoRename(oldKey, newKey) (which a store
// applies after the rename it undoes), puts the request back exactly as it was (old session, old cookie,
// no bound user) and the error goes out as SessionStoreUnavailable (503): the user keeps their session
// and can try again. A session that was never stored has no old id to retire: it is just created.

import { create, markPersisted, recordOf } from './commit.js'
import type { EngineContext } from './engine-context.js'
import { parseDuration } from './duration.js'
import { newSessionId } from './id.js'
import { absoluteDeadline, idleTimeoutOf, remember, rememberText } from './remember.js'
import { REMEMBER_KEY, type LoginOptions } from './session.js'
import { serializeSession, type DataTexts } from './session-data.js'
import { clearData, resetState, type RequestState } from './state.js'
import { nextExpiry } from './timeouts.js'
import { storeCall } from './store-call.js'
import { storeKey } from './store-key.js'

const MAX_USER_ID = 256

/** `empty`: express-session's regenerate(cb), whose new session starts without the old data. */
export async function regenerate(context: EngineContext, state: RequestState, empty = false): Promise<void> {
  await rebind(context, state, state.userId, false, empty)
  if (state.persisted) context.audit.emit('session.renewed', state.key!, state.client, { reason: 'regenerate', userId: state.userId })
}

export async function login(context: EngineContext, state: RequestState, userId: string, options?: LoginOptions): Promise<void> {
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > MAX_USER_ID) {
    throw new TypeError(`session.login(userId) takes a non-empty string of at most ${MAX_USER_ID} characters.`)
  }
  let rememberMs: number | undefined
  if (options?.remember !== undefined) {
    rememberMs = parseDuration(options.remember)
    if (rememberMs === undefined || rememberMs <= 0) {
      throw new TypeError("session.login(userId, { remember }) takes a positive number of milliseconds or a string like '30d'.")
    }
  }
  await rebind(context, state, userId, true, false, rememberMs)
  context.audit.emit('session.login', state.key!, state.client, { userId })
}

async function rebind(
  context: EngineContext,
  state: RequestState,
  userId: string | undefined,
  isLogin: boolean,
  empty = false,
  rememberMs?: number,
): Promise<void> {
  const now = Date.now()
  const before = { ...state }
  const oldKey = state.persisted ? state.key : undefined
  if (isLogin) {
    // A login starts a new authenticated session: its absolute lifetime starts now (a remembered one's too).
    state.createdAt = now
    state.absoluteExpiresAt = absoluteDeadline(state, context.options, now)
    if (rememberMs !== undefined) remember(state, context.options, rememberMs)
    state.expiresAt = nextExpiry(now, idleTimeoutOf(state, context.options), state.absoluteExpiresAt)
    state.lifetimeChanged = false // the rename below carries the new deadline
  }
  let texts: DataTexts
  try {
    texts = empty ? markerOnly(state) : serializeSession(state, context.options.maxSessionBytes)
  } catch (error) {
    Object.assign(state, before)
    throw error
  }
  state.userId = userId
  state.isNew = true
  try {
    if (oldKey !== undefined) {
      await rename(context, state, oldKey, texts, now, isLogin)
    } else if (isLogin) {
      state.sid = undefined
      await create(context, state, texts, now)
    } else {
      // Never stored: a new id is all it takes (drawn when first needed).
      state.sid = undefined
    }
  } catch (error) {
    // The store failed half-way: the request is left exactly as it was, so a login() that threw leaves
    // no session bound to the user for commit() to write later, and the old cookie stays valid.
    Object.assign(state, before)
    throw error
  }
  if (empty) clearData(state)
  state.cookieNeedsSet = true
}

async function rename(context: EngineContext, state: RequestState, oldKey: string, texts: DataTexts, now: number, isLogin: boolean): Promise<void> {
  const { store, audit } = context
  const sid = newSessionId()
  const key = await storeKey(sid)
  const record = recordOf(context, state, texts, now)
  let renamed: boolean
  try {
    renamed = await storeCall(audit, 'rename', key, state, () => store.rename(oldKey, key, record))
  } catch (error) {
    // Best effort: if the store cannot take the undo either, it is reported and the rename's error goes out.
    await storeCall(audit, 'undoRename', oldKey, state, () => store.undoRename(oldKey, key)).catch(() => {})
    throw error
  }
  if (renamed) {
    markPersisted(state, sid, key, record)
    return
  }
  // The old session is gone (a concurrent logout, revoke or expiry; an id collision, 2^-144, lands here
  // too, safely): never bring it back. A login still starts its user's new session, without that data.
  const userId = state.userId
  resetState(state, context.options)
  state.clearCookie = true
  if (isLogin) {
    state.userId = userId
    await create(context, state, Object.create(null) as DataTexts, now)
  }
}

/** No data, only the remember marker if the session is remembered (express-session's empty regenerate). */
function markerOnly(state: RequestState): DataTexts {
  const texts = Object.create(null) as DataTexts
  const marker = rememberText(state)
  if (marker !== undefined) texts[REMEMBER_KEY] = marker
  return texts
}
