// The engine: one per `session(options)`. Adapters call only load() and commit(); the session object
// calls back into it (SessionHost); the app may list and revoke a user's sessions. Each step lives in
// its own file, named after it; this table is the whole per-request state machine:
//
//   load (load.ts)
//     no cookie ................................. fresh (no id yet, nothing stored)
//     cookie fails to verify .................... fresh + session.rejected(tampered|malformed|unknown_key)
//     verified id, store has no record .......... fresh + session.rejected(unknown_session)
//                                                 (session.expired instead when the store just reported
//                                                 its expiry, or the seal is past its absolute deadline)
//     record past a deadline .................... fresh + session.expired(idle|absolute), record removed
//     (a cookie that cannot work again is cleared on the response unless a new session is set)
//     record alive .............................. existing session
//   during the request (rebind.ts, destroy.ts, commit.ts's persist for save())
//     regenerate / login ........................ store.rename(old key -> new key) in one step; on a
//                                                 failure undoRename, the request unchanged, 503
//     destroy / logout .......................... store.destroy, clearing cookie
//   commit (commit.ts)
//     fresh, nothing written .................... nothing (unless saveUninitialized)
//     fresh, written ............................ store.create + Set-Cookie + session.created
//     existing, keys changed .................... store.update(only the changed keys)
//     existing, unchanged ....................... store.touch, at most once per touchInterval
//     update/touch finds no record .............. destroyed meanwhile: clear the cookie, never resurrect
//     destroyed in this request ................. clearing Set-Cookie (or a new session if rewritten)
//
// Every store call is keyed by a hash of the session id, never the id (store-key.ts), and goes
// through storeCall (a failure is SessionStoreUnavailable, 503, plus a store.error event).

import { Audit } from './audit.js'
import type { RequestInfo } from './client.js'
import { commit, persist, secureCookie } from './commit.js'
import type { CookieAttributes } from './compat/cookie-view.js'
import { inCookiePath } from './cookie.js'
import { destroy } from './destroy.js'
import { emitExpired, type EngineContext } from './engine-context.js'
import { SessionConfigError, SessionReadOnly } from './errors.js'
import { newSessionId } from './id.js'
import { freshFor, load } from './load.js'
import { resolveOptions, type ResolvedOptions, type SessionOptions } from './options.js'
import { login, regenerate } from './rebind.js'
import { RecentExpiries } from './recent-expiries.js'
import { RejectLimiter } from './reject-limit.js'
import { Sealer } from './seal.js'
import { remember } from './remember.js'
import type { LoginOptions, SessionHost } from './session.js'
import { fillSession } from './session-data.js'
import { clearData, resetState, type RequestState } from './state.js'
import { storeCall } from './store-call.js'
import type { SessionStore, StoreEvent } from './store.js'
import { memoryStore } from './stores/memory.js'
import { expiryReason } from './timeouts.js'
import { listUserSessions, revokeSession, revokeUserSessions, type UserSessionInfo } from './user-sessions.js'

export type { UserSessionInfo } from './user-sessions.js'

export class Engine implements SessionHost {
  readonly options: ResolvedOptions
  readonly store: SessionStore
  readonly audit: Audit
  readonly #context: EngineContext
  readonly #ownsStore: boolean
  readonly #unsubscribe: (() => void) | undefined

  constructor(options: SessionOptions) {
    this.options = resolveOptions(options)
    this.#ownsStore = this.options.store === undefined
    this.store = this.options.store ?? memoryStore()
    this.audit = new Audit(this.options.secrets.refSecret, this.options.audit, this.options.coalesceRejectedMs)
    this.audit.closeTimeoutMs = this.options.auditCloseTimeoutMs
    this.#context = {
      options: this.options,
      store: this.store,
      audit: this.audit,
      sealer: new Sealer(this.options.secrets),
      limiter: new RejectLimiter(this.options.rejectLimit),
      recentExpiries: new RecentExpiries(),
      host: this,
    }
    this.#unsubscribe = this.store.subscribe?.((event) => this.#onStoreEvent(event))
  }

  /** The request's session. Rejects with SessionRejectLimit (429) or SessionStoreUnavailable (503). */
  load(info: RequestInfo): Promise<RequestState> {
    return load(this.#context, info)
  }

  /** Write what the request changed; resolves to the Set-Cookie value to send, if any. */
  commit(state: RequestState): Promise<string | undefined> {
    return commit(this.#context, state)
  }

  // ---------------------------------------------------------------- session methods (SessionHost)

  id(state: RequestState): string {
    return (state.sid ??= newSessionId())
  }

  touch(state: RequestState): void {
    state.touchRequested = true
  }

  save(state: RequestState): Promise<void> {
    return persist(this.#context, state, true)
  }

  async reload(state: RequestState): Promise<void> {
    if (!state.persisted) return
    const key = state.key!
    const record = await storeCall(this.audit, 'get', key, state, () => this.store.get(key))
    if (!record || expiryReason(record, Date.now())) {
      resetState(state, this.options)
      state.clearCookie = true
      return
    }
    clearData(state)
    state.record = record
    state.userId = record.userId
    fillSession(state, record)
  }

  regenerate(state: RequestState, empty?: boolean): Promise<void> {
    return regenerate(this.#context, state, empty)
  }

  login(state: RequestState, userId: string, options?: LoginOptions): Promise<void> {
    return login(this.#context, state, userId, options)
  }

  /** "Remember me" (remember.ts): a persistent cookie and a longer, bounded lifetime; null undoes it. */
  remember(state: RequestState, maxAge: number | null): void {
    if (state.readOnly) throw new SessionReadOnly('changing session.cookie.maxAge')
    remember(state, this.options, maxAge)
  }

  /** The cookie's attributes as this request's Set-Cookie would carry them (for `session.cookie`). */
  cookieAttributes(state: RequestState): CookieAttributes {
    const cookie = this.options.cookie
    return {
      path: cookie.path,
      domain: cookie.domain,
      secure: secureCookie(this.#context, state),
      httpOnly: cookie.httpOnly,
      sameSite: cookie.sameSite === undefined ? false : (cookie.sameSite.toLowerCase() as 'lax' | 'strict' | 'none'),
      partitioned: cookie.partitioned,
    }
  }

  /**
   * Treat the loaded session as absent for this request (koa-session's `valid` hook said no): the
   * request gets a fresh session; the stored one and the client's cookie are left as they are.
   */
  discard(state: RequestState): void {
    const clearCookie = state.clearCookie
    resetState(state, this.options)
    state.clearCookie = clearCookie
  }

  /**
   * A fresh session for this request without loading anything (synchronous): what Koa's ctx.session
   * is when read before the middleware ran. Its writes are applied on top of the loaded session later;
   * it is never committed itself.
   */
  detached(info: RequestInfo): RequestState {
    return freshFor(this.#context, info, false)
  }

  /** Does the session apply to a request for `path`? Outside `cookie.path` there is none (express-session). */
  appliesTo(path: string): boolean {
    return inCookiePath(path, this.options.cookie.path)
  }

  destroy(state: RequestState, logout: boolean): Promise<void> {
    return destroy(this.#context, state, logout)
  }

  // ---------------------------------------------------------------- a user's sessions (user-sessions.ts)

  /** The live sessions of a user, newest activity first. Pass the asking session's `session.id` as `current`. */
  listUserSessions(userId: string, options: { current?: string } = {}): Promise<UserSessionInfo[]> {
    return listUserSessions(this.#context, userId, options)
  }

  /** End one of a user's sessions, named by its `ref` from listUserSessions. Returns whether it existed. */
  revokeSession(userId: string, ref: string): Promise<boolean> {
    return revokeSession(this.#context, userId, ref)
  }

  /** End every session of a user (password change, account disabled), optionally keeping one `session.id`. */
  revokeUserSessions(userId: string, options: { except?: string } = {}): Promise<number> {
    return revokeUserSessions(this.#context, userId, options)
  }

  /** Flush audit sinks and stop timers. Closes the store only if the engine created it. */
  async close(): Promise<void> {
    this.#unsubscribe?.()
    await this.audit.close()
    if (this.#ownsStore) await this.store.close?.()
  }

  /** What the store did on its own (it knows sessions only by their store keys). */
  #onStoreEvent(event: StoreEvent): void {
    if (event.type === 'expired') {
      this.#context.recentExpiries.add(event.id)
      emitExpired(this.#context, event.id, event.record, expiryReason(event.record, Date.now()) ?? 'idle', undefined)
    } else if (event.type === 'evicted') {
      this.audit.emit('session.evicted', event.id, undefined, { reason: 'capacity', userId: event.record.userId })
    } else if (event.type === 'failover') {
      this.audit.emit('store.failover', 'store', undefined, { reason: event.state })
    }
  }
}

export function createEngine(options: SessionOptions): Engine {
  if (options instanceof Engine) throw new SessionConfigError('createEngine() takes options, not an engine.')
  return new Engine(options)
}
