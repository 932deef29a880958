// The per-request state machine: load (cookie -> verified id -> store record -> timeout checks)
// and commit (diff -> one store write -> Set-Cookie). Adapters call only load() and commit().
//
//   load:   no cookie ............................. fresh (no id yet, nothing stored)
//           cookie fails to verify ................ fresh + session.rejected(tampered|malformed|unknown_key)
//           verified id, store has no record ...... fresh + session.rejected(unknown_session)
//           record past a deadline ................ fresh + session.expired(idle|absolute), record removed
//           (a cookie that cannot work again is cleared on the response unless a new session is set)
//           record alive .......................... existing session
//   commit: fresh, nothing written ................ nothing (unless saveUninitialized)
//           fresh, written ........................ store.create + Set-Cookie + session.created
//           existing, keys changed ................ store.update(only the changed keys)
//           existing, unchanged ................... store.touch, at most once per touchInterval
//           update/touch finds no record .......... destroyed meanwhile: clear the cookie, never resurrect
//           destroyed in this request ............. clearing Set-Cookie (or a new session if rewritten)

import { Audit, type AuditEventType, type ClientInfo } from './audit.js'
import { clientInfo, isSecure, type RequestInfo } from './client.js'
import { readCookie, serializeClearCookie, serializeCookie } from './cookie.js'
import { SesameError, SessionConfigError, SessionDataInvalid, SessionReadOnly, SessionRejectLimit, SessionStoreUnavailable, SessionTooLarge } from './errors.js'
import { newSessionId } from './id.js'
import { resolveOptions, type ResolvedOptions, type SessionOptions } from './options.js'
import { RejectLimiter } from './reject-limit.js'
import { Sealer, type UnsealResult } from './seal.js'
import { RESERVED, Session, type SessionHost } from './session.js'
import type { RequestState } from './state.js'
import type { SessionRecord, SessionStore, StoreEvent } from './store.js'
import { memoryStore } from './stores/memory.js'
import { drive, isThenable, type MaybePromise, type Steps } from './maybe.js'
import { expiryReason, nextExpiry } from './timeouts.js'

/** One of a user's sessions, as listed for a "your active sessions" page. */
export interface UserSessionInfo {
  /** Stable handle for this session (its sessionRef): safe to put in a page or a form. */
  ref: string
  createdAt: number
  lastActiveAt: number
  expiresAt: number
  ip: string | undefined
  userAgent: string | undefined
  /** It is the session of the request that asked (when `current` was passed). */
  current: boolean
}

const MAX_USER_ID = 256
const MAX_CLIENT_FIELD = 256

export class Engine implements SessionHost {
  readonly options: ResolvedOptions
  readonly store: SessionStore
  readonly audit: Audit
  readonly #sealer: Sealer
  readonly #ownsStore: boolean
  readonly #unsubscribe: (() => void) | undefined
  readonly #limiter: RejectLimiter
  /** Ids the store reported as expired since the last load: a load that misses on one is an expiry, not a forgery. */
  #lastExpired: string | undefined

  constructor(options: SessionOptions) {
    this.options = resolveOptions(options)
    this.#ownsStore = this.options.store === undefined
    this.store = this.options.store ?? memoryStore()
    this.audit = new Audit(this.options.secrets.refSecret, this.options.audit, this.options.coalesceRejectedMs)
    this.audit.closeTimeoutMs = this.options.auditCloseTimeoutMs
    this.#sealer = new Sealer(this.options.secrets)
    this.#limiter = new RejectLimiter(this.options.rejectLimit)
    this.#unsubscribe = this.store.subscribe?.((event) => this.#onStoreEvent(event))
  }

  // ---------------------------------------------------------------- load

  /**
   * The request's session. A plain value when nothing had to wait (the memory store, a cookie seen
   * before), else a Promise: `await` it, or check for a thenable to stay synchronous (see maybe.ts).
   * Throws (or rejects with) SessionRejectLimit or SessionStoreUnavailable.
   */
  load(info: RequestInfo): MaybePromise<RequestState> {
    return drive(this.#loadSteps(info))
  }

  *#loadSteps(info: RequestInfo): Steps<RequestState> {
    const client = clientInfo(info, this.options.trustProxy)
    const values = readCookie(info.cookie, this.options.cookie.name)
    const state = this.#fresh(info, client, values !== undefined)
    if (values === undefined) return state
    if (this.#limiter.blocked(client.ip)) throw new SessionRejectLimit()
    if (values === null) {
      this.#reject(state, 'malformed', info.cookie ?? '')
      return state
    }
    let reason: 'tampered' | 'malformed' | 'unknown_key' | undefined
    let rejectedValue = ''
    for (const value of values) {
      const result = this.#sealer.peek(value) ?? ((yield this.#sealer.unseal(value)) as UnsealResult)
      if (typeof result === 'string') {
        reason ??= result
        if (!rejectedValue) rejectedValue = value
        continue
      }
      const record = (yield this.#storeCall('get', result.sid, client, () => this.store.get(result.sid))) as SessionRecord | undefined
      if (!record) {
        if (this.#lastExpired === result.sid) {
          this.#lastExpired = undefined
          state.clearCookie = true
        } else if (result.createdAt + this.options.absoluteTimeout <= Date.now()) {
          // The store dropped it on its own (Redis expiry): the seal says it is past its absolute deadline.
          this.audit.emit('session.expired', result.sid, client, { reason: 'absolute', ageMs: Date.now() - result.createdAt })
          state.clearCookie = true
        } else this.#reject(state, 'unknown_session', result.sid)
        return state
      }
      const now = Date.now()
      const expired = expiryReason(record, now)
      if (expired) {
        this.#emitExpired(result.sid, record, expired, client)
        yield this.#storeCall('destroy', result.sid, client, () => this.store.destroy(result.sid))
        state.clearCookie = true
        return state
      }
      if (record.createdAt !== result.createdAt) {
        this.#reject(state, 'tampered', result.sid)
        return state
      }
      this.#adopt(state, result.sid, record, now)
      state.cookieNeedsSet = result.stale
      return state
    }
    this.#reject(state, reason ?? 'malformed', rejectedValue)
    return state
  }

  #fresh(info: RequestInfo, client: ClientInfo, hadCookie: boolean): RequestState {
    const now = Date.now()
    const absoluteExpiresAt = now + this.options.absoluteTimeout
    const state: RequestState = {
      host: this,
      session: undefined as unknown as Session,
      secure: isSecure(info, this.options.trustProxy),
      client,
      hadCookie,
      readOnly: info.readOnly === true,
      sid: undefined,
      isNew: true,
      persisted: false,
      clearCookie: false,
      snapshot: {},
      userId: undefined,
      userChanged: false,
      createdAt: now,
      lastActiveAt: now,
      expiresAt: nextExpiry(now, this.options.idleTimeout, absoluteExpiresAt),
      absoluteExpiresAt,
      cookieNeedsSet: true,
      touchRequested: false,
      record: undefined,
    }
    state.session = this.#sessionFor(state)
    return state
  }

  #sessionFor(state: RequestState): Session {
    const session = new Session(state)
    if (!state.readOnly) return session
    const proxy = new Proxy(session, {
      set(_target, key) {
        throw new SessionReadOnly(`setting session.${String(key)}`)
      },
      deleteProperty(_target, key) {
        throw new SessionReadOnly(`deleting session.${String(key)}`)
      },
      defineProperty(_target, key) {
        throw new SessionReadOnly(`defining session.${String(key)}`)
      },
    })
    targets.set(proxy, session)
    return proxy
  }

  #adopt(state: RequestState, sid: string, record: SessionRecord, now: number): void {
    state.sid = sid
    state.isNew = false
    state.persisted = true
    state.record = record
    state.userId = record.userId
    state.createdAt = record.createdAt
    state.lastActiveAt = record.lastActiveAt
    state.absoluteExpiresAt = record.absoluteExpiresAt
    state.expiresAt = nextExpiry(now, this.options.idleTimeout, record.absoluteExpiresAt)
    this.#fill(state, record)
  }

  /** Put the record's data on the session object; the snapshot is the store's JSON text itself. */
  #fill(state: RequestState, record: SessionRecord): void {
    const target = unwrap(state.session)
    let snapshot = record.data as Record<string, string>
    let copied = false
    for (const key in record.data) {
      const text = record.data[key]!
      let value: unknown
      try {
        if (RESERVED.has(key)) throw new Error('reserved')
        value = JSON.parse(text)
      } catch {
        // A value that cannot be parsed (or a reserved name) never reaches the app; leave it untouched in the store.
        if (!copied) {
          snapshot = { ...snapshot }
          copied = true
        }
        delete snapshot[key]
        continue
      }
      // Not a reserved name, so no setter of Session.prototype is in the way of a plain assignment.
      ;(target as Record<string, unknown>)[key] = value
    }
    state.snapshot = snapshot
  }

  #reject(state: RequestState, reason: 'tampered' | 'malformed' | 'unknown_key' | 'unknown_session', subject: string): void {
    this.audit.emit('session.rejected', subject, state.client, { reason })
    // Tell the browser to drop a cookie that will never work again (unless this response sets a new one).
    state.clearCookie = true
    // A cookie that verified but names no live session cannot be forged without the secret: an ordinary
    // logout, revoke or store expiry, so it does not count towards rejectLimit.
    if (reason !== 'unknown_session' && this.#limiter.hit(state.client.ip)) throw new SessionRejectLimit()
  }

  // ---------------------------------------------------------------- commit

  /**
   * Write what the request changed and return the Set-Cookie value to send, if any. A plain value
   * when the store answered synchronously, else a Promise (see load()).
   */
  commit(state: RequestState): MaybePromise<string | undefined> {
    return drive(this.#commitSteps(state))
  }

  *#commitSteps(state: RequestState): Steps<string | undefined> {
    if (state.readOnly) {
      // A read-only request (a Next.js server component) cannot set cookies, but it is activity:
      // refresh the store's activity time when due, never write data, never send a cookie.
      // Only the activity time: even a nested mutation of a read-only session's data is never written.
      const now = Date.now()
      if (state.persisted && now - state.lastActiveAt >= this.options.touchInterval) {
        const sid = state.sid!
        const expiresAt = nextExpiry(now, this.options.idleTimeout, state.absoluteExpiresAt)
        if ((yield this.#storeCall('touch', sid, state.client, () => this.store.touch(sid, now, expiresAt))) as boolean) {
          state.lastActiveAt = now
          state.expiresAt = expiresAt
        }
      }
      return undefined
    }
    yield* this.#persistSteps(state, false)
    if (state.persisted) {
      if (!state.cookieNeedsSet) return undefined
      state.cookieNeedsSet = false
      const sealed = (yield this.#sealer.seal({ sid: state.sid!, createdAt: state.createdAt })) as string
      return serializeCookie(this.options.cookie, sealed, this.#secureCookie(state))
    }
    if (state.clearCookie) {
      state.clearCookie = false
      return serializeClearCookie(this.options.cookie, this.#secureCookie(state))
    }
    return undefined
  }

  #secureCookie(state: RequestState): boolean {
    const secure = this.options.cookie.secure
    return secure === 'auto' ? state.secure : secure
  }

  /** Serialize the session's data; returns the JSON text per key and the total size. */
  #serialize(state: RequestState): { texts: Record<string, string>; size: number } {
    const texts: Record<string, string> = {}
    let size = 2
    const session = unwrap(state.session)
    for (const key of Object.keys(session)) {
      const value = (session as Record<string, unknown>)[key]
      if (value === undefined) continue
      const kind = typeof value
      if (kind === 'function' || kind === 'symbol' || kind === 'bigint') {
        throw new SessionDataInvalid(key, `a ${kind} is not JSON`)
      }
      let text: string | undefined
      try {
        text = JSON.stringify(value)
      } catch (error) {
        const cyclic = error instanceof TypeError && /circular|cyclic/i.test(error.message)
        throw new SessionDataInvalid(key, cyclic ? 'it contains a circular reference' : 'it contains a value JSON cannot represent (e.g. a BigInt)', { cause: error })
      }
      if (text === undefined) throw new SessionDataInvalid(key, 'it is not JSON')
      texts[key] = text
      size += key.length + text.length + 4
    }
    if (size > this.options.maxSessionBytes / 3) {
      // Characters undercount bytes for non-ASCII text: measure exactly only when it could matter.
      let bytes = 2
      const encoder = new TextEncoder()
      for (const key in texts) bytes += encoder.encode(key).length + encoder.encode(texts[key]!).length + 4
      if (bytes > this.options.maxSessionBytes) throw new SessionTooLarge(bytes, this.options.maxSessionBytes)
    }
    return { texts, size }
  }

  /** The store half of commit (also `session.save()`): create, update or touch. */
  *#persistSteps(state: RequestState, explicit: boolean): Steps<void> {
    const { texts } = this.#serialize(state)
    const now = Date.now()
    if (!state.persisted) {
      let empty = true
      for (const _ in texts) {
        empty = false
        break
      }
      if (empty && !explicit && !this.options.saveUninitialized && state.userId === undefined) return
      yield* this.#createSteps(state, texts, now)
      this.audit.emit('session.created', state.sid!, state.client)
      return
    }
    const set: Record<string, string> = {}
    const unset: string[] = []
    let changed = state.userChanged
    for (const key in texts) {
      if (state.snapshot[key] !== texts[key]) {
        set[key] = texts[key]!
        changed = true
      }
    }
    for (const key in state.snapshot) {
      if (!Object.hasOwn(texts, key)) {
        unset.push(key)
        changed = true
      }
    }
    const sid = state.sid!
    const expiresAt = nextExpiry(now, this.options.idleTimeout, state.absoluteExpiresAt)
    let applied: boolean
    if (changed) {
      applied = (yield this.#storeCall('update', sid, state.client, () =>
        this.store.update(sid, { set, unset, userId: state.userChanged ? state.userId ?? null : undefined, lastActiveAt: now, expiresAt }),
      )) as boolean
      if (applied) {
        state.snapshot = texts
        state.userChanged = false
      }
    } else if (state.touchRequested || now - state.lastActiveAt >= this.options.touchInterval) {
      applied = (yield this.#storeCall('touch', sid, state.client, () => this.store.touch(sid, now, expiresAt))) as boolean
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
    this.#reset(state)
    state.clearCookie = true
  }

  *#createSteps(state: RequestState, texts: Record<string, string>, now: number): Steps<void> {
    const record: SessionRecord = {
      data: texts,
      userId: state.userId,
      createdAt: state.createdAt,
      lastActiveAt: now,
      expiresAt: nextExpiry(now, this.options.idleTimeout, state.absoluteExpiresAt),
      absoluteExpiresAt: state.absoluteExpiresAt,
      ip: clip(state.client.ip),
      userAgent: clip(state.client.userAgent),
    }
    for (let attempt = 0; ; attempt++) {
      const sid = state.sid ?? newSessionId()
      const created = (yield this.#storeCall('create', sid, state.client, () => this.store.create(sid, record))) as boolean
      if (created) {
        state.sid = sid
        break
      }
      // An id collision (2^-144) or a client-influenced id: never write into someone else's session.
      state.sid = undefined
      if (attempt >= 3) throw new SessionStoreUnavailable('create (the store refused every new id)')
    }
    state.persisted = true
    state.snapshot = texts
    state.userChanged = false
    state.lastActiveAt = now
    state.expiresAt = record.expiresAt
    state.cookieNeedsSet = true
    state.clearCookie = false
    state.record = record
  }

  /** Back to a fresh, empty, unsaved session (after destroy, or when the record vanished). */
  #reset(state: RequestState): void {
    const session = unwrap(state.session)
    for (const key of Object.keys(session)) delete (session as Record<string, unknown>)[key]
    const now = Date.now()
    state.sid = undefined
    state.isNew = true
    state.persisted = false
    state.snapshot = {}
    state.userId = undefined
    state.userChanged = false
    state.createdAt = now
    state.lastActiveAt = now
    state.absoluteExpiresAt = now + this.options.absoluteTimeout
    state.expiresAt = nextExpiry(now, this.options.idleTimeout, state.absoluteExpiresAt)
    state.cookieNeedsSet = true
    state.touchRequested = false
    state.record = undefined
  }

  // ---------------------------------------------------------------- session methods (SessionHost)

  id(state: RequestState): string {
    return (state.sid ??= newSessionId())
  }

  touch(state: RequestState): void {
    state.touchRequested = true
  }

  async save(state: RequestState): Promise<void> {
    await drive(this.#persistSteps(state, true))
  }

  async reload(state: RequestState): Promise<void> {
    if (!state.persisted) return
    const sid = state.sid!
    const record = await this.#storeCall('get', sid, state.client, () => this.store.get(sid))
    const session = unwrap(state.session)
    if (!record || expiryReason(record, Date.now())) {
      this.#reset(state)
      state.clearCookie = true
      return
    }
    for (const key of Object.keys(session)) delete (session as Record<string, unknown>)[key]
    state.record = record
    state.userId = record.userId
    this.#fill(state, record)
  }

  async regenerate(state: RequestState): Promise<void> {
    await this.#rebind(state, state.userId, false)
    this.audit.emit('session.renewed', state.sid!, state.client, { reason: 'regenerate', userId: state.userId })
  }

  async login(state: RequestState, userId: string): Promise<void> {
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > MAX_USER_ID) {
      throw new TypeError(`session.login(userId) takes a non-empty string of at most ${MAX_USER_ID} characters.`)
    }
    await this.#rebind(state, userId, true)
    this.audit.emit('session.login', state.sid!, state.client, { userId })
  }

  /** New id (and optionally a new user and a new start time), same data; the old id leaves the store. */
  async #rebind(state: RequestState, userId: string | undefined, isLogin: boolean): Promise<void> {
    const oldSid = state.persisted ? state.sid : undefined
    const { texts } = this.#serialize(state)
    const now = Date.now()
    // If the store fails half-way, the request must be left exactly as it was: a login() that threw
    // must not leave a session bound to the user for commit() to write later.
    const before = { ...state }
    if (isLogin) {
      // A login starts a new authenticated session: its absolute lifetime starts now.
      state.createdAt = now
      state.absoluteExpiresAt = now + this.options.absoluteTimeout
    }
    state.userId = userId
    state.sid = undefined
    state.persisted = false
    state.isNew = true
    if (oldSid !== undefined || isLogin) {
      try {
        await drive(this.#createSteps(state, texts, now))
      } catch (error) {
        Object.assign(state, before)
        throw error
      }
      if (oldSid !== undefined) {
        try {
          await this.#storeCall('destroy', oldSid, state.client, () => this.store.destroy(oldSid))
        } catch (error) {
          // The old id is still live: keep using it, and drop the new record nobody has a cookie for
          // (best effort: the store is failing; if this fails too, the record just times out).
          const orphan = state.sid!
          Object.assign(state, before)
          await Promise.resolve()
            .then(() => this.store.destroy(orphan))
            .catch(() => {})
          throw error
        }
      }
    } else {
      state.userChanged = userId !== undefined
    }
    state.cookieNeedsSet = true
  }

  async destroy(state: RequestState, logout: boolean): Promise<void> {
    const sid = state.sid
    const userId = state.userId
    if (state.persisted && sid !== undefined) {
      await this.#storeCall('destroy', sid, state.client, () => this.store.destroy(sid))
    }
    if (sid !== undefined && (state.persisted || state.hadCookie)) {
      this.audit.emit(logout ? 'session.logout' : 'session.destroyed', sid, state.client, { userId })
    }
    const wasKnownToClient = state.persisted || state.hadCookie
    this.#reset(state)
    state.clearCookie = wasKnownToClient
  }

  // ---------------------------------------------------------------- engine operations (ASVS 7.4.2, 7.4.5, 7.5.2)

  /** The live sessions of a user, newest activity first. Pass the asking session's id as `current`. */
  async listUserSessions(userId: string, options: { current?: string } = {}): Promise<UserSessionInfo[]> {
    const sessions = await this.#storeCall('listByUser', '', undefined, () => this.store.listByUser(userId))
    const now = Date.now()
    const live = sessions.filter(({ record }) => !expiryReason(record, now))
    const refs = await Promise.all(live.map(({ id }) => this.audit.ref(id)))
    return live
      .map(({ id, record }, index) => ({
        ref: refs[index]!,
        createdAt: record.createdAt,
        lastActiveAt: record.lastActiveAt,
        expiresAt: record.expiresAt,
        ip: record.ip,
        userAgent: record.userAgent,
        current: id === options.current,
      }))
      .sort((a, b) => b.lastActiveAt - a.lastActiveAt)
  }

  /** End one of a user's sessions, named by its `ref` from listUserSessions. Returns whether it existed. */
  async revokeSession(userId: string, ref: string): Promise<boolean> {
    const sessions = await this.#storeCall('listByUser', '', undefined, () => this.store.listByUser(userId))
    const refs = await Promise.all(sessions.map(({ id }) => this.audit.ref(id)))
    const match = sessions.find((_, index) => refs[index] === ref)
    if (!match) return false
    const removed = await this.#storeCall('destroy', match.id, undefined, () => this.store.destroy(match.id))
    if (removed) this.audit.emit('session.revoked', match.id, undefined, { userId })
    return removed
  }

  /** End every session of a user (password change, account disabled), optionally keeping one id. */
  async revokeUserSessions(userId: string, options: { except?: string } = {}): Promise<number> {
    const removed = await this.#storeCall('destroyByUser', '', undefined, () => this.store.destroyByUser(userId, options.except))
    for (const id of removed) this.audit.emit('session.revoked', id, undefined, { userId })
    return removed.length
  }

  /** Flush audit sinks and stop timers. Closes the store only if the engine created it. */
  async close(): Promise<void> {
    this.#unsubscribe?.()
    await this.audit.close()
    if (this.#ownsStore) await this.store.close?.()
  }

  // ---------------------------------------------------------------- helpers

  #onStoreEvent(event: StoreEvent): void {
    if (event.type === 'expired') {
      this.#lastExpired = event.id
      this.#emitExpired(event.id, event.record, expiryReason(event.record, Date.now()) ?? 'idle', undefined)
    } else if (event.type === 'evicted') {
      this.audit.emit('session.evicted', event.id, undefined, { reason: 'capacity', userId: event.record.userId })
    } else if (event.type === 'failover') {
      this.audit.emit('store.failover', 'store', undefined, { reason: event.state })
    }
  }

  #emitExpired(sid: string, record: SessionRecord, reason: 'idle' | 'absolute', client: ClientInfo | undefined): void {
    const now = Date.now()
    this.audit.emit('session.expired', sid, client, {
      reason,
      userId: record.userId,
      ageMs: now - record.createdAt,
      idleMs: now - record.lastActiveAt,
    })
  }

  /**
   * One store call. A synchronous store (the memory store) is answered without a promise or a
   * microtask hop: the steps yield its result and drive() waits only for a thenable (maybe.ts). Any failure becomes
   * SessionStoreUnavailable plus a `store.error` event.
   */
  #storeCall<T>(operation: string, sid: string, client: ClientInfo | undefined, call: () => T | Promise<T>): T | Promise<T> {
    let result: T | Promise<T>
    try {
      result = call()
    } catch (error) {
      throw this.#storeFailure(operation, sid, client, error)
    }
    if (isThenable(result)) return result.then(undefined, (error: unknown) => Promise.reject(this.#storeFailure(operation, sid, client, error)))
    return result
  }

  #storeFailure(operation: string, sid: string, client: ClientInfo | undefined, error: unknown): SessionStoreUnavailable {
    const code = error instanceof SesameError ? error.code : ((error as { code?: unknown })?.code ?? (error as { name?: unknown })?.name)
    this.audit.emit('store.error' satisfies AuditEventType, sid, client, { operation, error: typeof code === 'string' ? code : 'error' })
    return error instanceof SessionStoreUnavailable ? error : new SessionStoreUnavailable(operation, { cause: error })
  }
}

function clip(value: string | undefined): string | undefined {
  return value !== undefined && value.length > MAX_CLIENT_FIELD ? value.slice(0, MAX_CLIENT_FIELD) : value
}

/** The Session behind a read-only Proxy (engine writes go to the target, not through the trap). */
const targets = new WeakMap<object, Session>()
function unwrap(session: Session): Session {
  return targets.get(session) ?? session
}

export function createEngine(options: SessionOptions): Engine {
  if (options instanceof Engine) throw new SessionConfigError('createEngine() takes options, not an engine.')
  return new Engine(options)
}
