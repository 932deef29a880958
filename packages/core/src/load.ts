// load: from the request's Cookie header to its session (the first half of the state machine in engine.ts).
//
//   no cookie of our name ......................... fresh
//   cookie fails to verify ........................ fresh + session.rejected(tampered|malformed|unknown_key)
//   verified, the store has no record ............. fresh + session.rejected(unknown_session), or an
//                                                   expiry when the store just reported one / the seal is past
//                                                   its absolute deadline
//   record past a deadline ........................ fresh + session.expired(idle|absolute), record removed
//   record alive .................................. the existing session
// A cookie that cannot work again is cleared on the response unless a new session is set.

import type { ClientInfo } from './audit.js'
import { clientInfo, isSecure, type RequestInfo } from './client.js'
import { clipCopy } from './clip.js'
import { readCookie } from './cookie.js'
import { emitExpired, type EngineContext } from './engine-context.js'
import { SessionRejectLimit } from './errors.js'
import type { RejectReason as UnsealRejectReason } from './seal.js'
import { fillSession } from './session-data.js'
import { adoptRecord, freshState, type RequestFacts, type RequestState } from './state.js'
import { storeCall } from './store-call.js'
import { storeKey } from './store-key.js'
import { expiryReason } from './timeouts.js'

/** Longest client field (address, user agent, method, path) an event or a key keeps. */
const MAX_CLIENT_FIELD = 512

/** Why a cookie gets a fresh session: the sealer's reasons, or a verified id the store does not have. */
type RejectReason = UnsealRejectReason | 'unknown_session'

export async function load(context: EngineContext, info: RequestInfo): Promise<RequestState> {
  const { options, sealer, store, audit, limiter } = context
  const values = readCookie(info.cookie, options.cookie.name)
  const state = freshFor(context, info, values !== undefined)
  if (values === undefined) return state
  if (limiter.enabled && limiter.blocked(state.client.ip)) throw new SessionRejectLimit()
  let firstReason: UnsealRejectReason | undefined
  let rejectedValue = ''
  for (const value of values) {
    const verified = sealer.peek(value) ?? (await sealer.unseal(value))
    if (typeof verified === 'string') {
      // Try the other values of our name (a stale cookie of another path may come first).
      firstReason ??= verified
      if (!rejectedValue) rejectedValue = value
      continue
    }
    const key = verified.key ?? (verified.key = await storeKey(verified.sid))
    const record = await storeCall(audit, 'get', key, state, () => store.get(key))
    const now = Date.now()
    if (!record) {
      if (context.recentExpiries.take(key)) {
        // The store reported its expiry (and the engine its session.expired event) a moment ago.
        state.clearCookie = true
      } else if (verified.createdAt + options.absoluteTimeout <= now) {
        // The store dropped it on its own (Redis expiry): the seal says it is past its absolute deadline.
        audit.emit('session.expired', key, state.client, { reason: 'absolute', ageMs: now - verified.createdAt })
        state.clearCookie = true
      } else {
        reject(context, state, 'unknown_session', key)
      }
      return state
    }
    const expired = expiryReason(record, now)
    if (expired) {
      emitExpired(context, key, record, expired, state.client)
      await storeCall(audit, 'destroy', key, state, () => store.destroy(key))
      state.clearCookie = true
      return state
    }
    if (record.createdAt !== verified.createdAt) {
      reject(context, state, 'tampered', key)
      return state
    }
    adoptRecord(state, options, verified.sid, key, record, now)
    fillSession(state, record)
    state.cookieNeedsSet = verified.stale
    return state
  }
  reject(context, state, firstReason ?? 'malformed', rejectedValue)
  return state
}

/** A fresh session for this request, before (or without) looking at its cookie. */
export function freshFor(context: EngineContext, info: RequestInfo, hadCookie: boolean): RequestState {
  return freshState(context.host, context.options, new InfoFacts(info, context.options.trustProxy, hadCookie))
}

/**
 * The request's facts as the state asks for them, from the adapter's RequestInfo.
 *
 * A class, not an object literal with two arrow functions: such a literal lives as long as the
 * request, and on Express a request often outlives a scavenge, so V8's allocation-site pretenuring
 * decides that the literal's objects are long-lived and allocates them in the old generation. Everything
 * young they point to (the two closures and what those capture) then survives every scavenge until the
 * next full collection. Measured on the bench's Express row (existing session, `--trace-gc-nvp`): 16.5
 * KB promoted per request with the literal, 12.4 KB with this class (express-session: 12.6-12.9 KB),
 * and a third less time in the scavenger. Instances of a class have no allocation site.
 */
class InfoFacts implements RequestFacts {
  readonly hadCookie: boolean
  readonly readOnly: boolean
  readonly flavour: RequestInfo['flavour']
  readonly #info: RequestInfo
  readonly #trustProxy: EngineContext['options']['trustProxy']

  constructor(info: RequestInfo, trustProxy: EngineContext['options']['trustProxy'], hadCookie: boolean) {
    this.#info = info
    this.#trustProxy = trustProxy
    this.hadCookie = hadCookie
    this.readOnly = info.readOnly === true
    this.flavour = info.flavour
  }

  secure(): boolean {
    return isSecure(this.#info, this.#trustProxy)
  }

  client(): ClientInfo {
    return boundedClient(clientInfo(this.#info, this.#trustProxy))
  }
}

/** `subject` is the store key of a verified session, else the rejected cookie value (hashed into sessionRef). */
function reject(context: EngineContext, state: RequestState, reason: RejectReason, subject: string): void {
  context.audit.emit('session.rejected', subject, state.client, { reason })
  // Tell the browser to drop a cookie that will never work again (unless this response sets a new one).
  state.clearCookie = true
  // A cookie that verified but names no live session cannot be forged without the secret: an ordinary
  // logout, revoke or store expiry, so it does not count towards rejectLimit.
  if (reason !== 'unknown_session' && context.limiter.hit(state.client.ip)) throw new SessionRejectLimit()
}

/**
 * The client's fields as fresh copies of at most MAX_CLIENT_FIELD characters (clip.ts): a slice of a
 * 15 KB header would keep all of it alive in a store record, an audit window or a rejectLimit key.
 */
function boundedClient(client: ClientInfo): ClientInfo {
  return {
    ip: clipCopy(client.ip, MAX_CLIENT_FIELD),
    userAgent: clipCopy(client.userAgent, MAX_CLIENT_FIELD),
    method: clipCopy(client.method, MAX_CLIENT_FIELD),
    path: clipCopy(client.path, MAX_CLIENT_FIELD),
  }
}
