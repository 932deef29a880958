// The object users touch: `req.session`, `ctx.session`, `{ session }`.
// Data are the object's own enumerable properties. Everything sesame needs lives under a symbol
// (never collides with data), and the reserved names are accessors on the prototype whose setters
// throw, so `session.id = 'x'` or `session.save = 1` fails loudly instead of corrupting the session.

import { isCallback, settle, type NodeCallback } from './compat/callback.js'
import { SessionCookie, type CookieHost } from './compat/cookie-view.js'
import { SessionReadOnly } from './errors.js'
import type { RequestState } from './state.js'

export const STATE: unique symbol = Symbol('sesame.session')

export interface SessionMeta {
  readonly userId: string | undefined
  readonly createdAt: number
  readonly lastActiveAt: number
  readonly expiresAt: number
}

/** Where a remembered session keeps its marker in the store's data (never reaches the app). */
export const REMEMBER_KEY = 'sesame.remember'

/** Names data can never use. The second line is express-session's and koa-session's members. */
export const RESERVED = new Set([
  'id', 'isNew', 'meta', 'regenerate', 'login', 'logout', 'destroy', 'save', 'reload', 'touch',
  'cookie', 'maxAge', 'length', 'populated', 'manuallyCommit', 'resetMaxAge', REMEMBER_KEY,
  '__proto__', 'constructor', 'prototype', 'toJSON',
])

export interface LoginOptions {
  /** "Remember me": a persistent cookie and a lifetime this long (ms or '30d'), capped by rememberMaxAge. */
  remember?: number | string | undefined
}

export interface Session {
  /** Any JSON value, by name. */
  [key: string]: unknown
}

/** Engine operations the session object calls. Implemented by Engine. */
export interface SessionHost extends CookieHost {
  /** `empty`: express-session's regenerate (a new session without the old data). */
  regenerate(state: RequestState, empty?: boolean): Promise<void>
  login(state: RequestState, userId: string, options?: LoginOptions): Promise<void>
  destroy(state: RequestState, logout: boolean): Promise<void>
  save(state: RequestState): Promise<void>
  reload(state: RequestState): Promise<void>
  touch(state: RequestState): void
  id(state: RequestState): string
}

function state(session: Session): RequestState {
  return (session as unknown as { [STATE]: RequestState })[STATE]
}

/** A promise of `operation`, also when it throws synchronously (so a callback gets that error too). */
function run(operation: () => Promise<void>): Promise<void> {
  try {
    return operation()
  } catch (error) {
    return Promise.reject(error)
  }
}

function writable(session: Session, what: string): RequestState {
  const current = state(session)
  if (current.readOnly) throw new SessionReadOnly(what)
  return current
}

export class Session {
  constructor(requestState: RequestState) {
    Object.defineProperty(this, STATE, { value: requestState, enumerable: false, writable: false, configurable: false })
  }

  static {
    // Each method takes a callback `cb(err)` as its last argument (express-session, koa-session) or
    // returns a promise (sesame); see compat/callback.ts.
    const methods: Record<string, (this: Session, ...args: never[]) => unknown> = {
      /**
       * New id, same data; the old id is gone from the store. Use on any privilege change.
       * In Express, `regenerate(cb)` is express-session's: the new session starts without the old data.
       */
      regenerate(this: Session, callback?: NodeCallback) {
        const cb = isCallback(callback) ? callback : undefined
        const current = state(this)
        const empty = cb !== undefined && current.flavour === 'express'
        return settle(run(() => writable(this, 'session.regenerate()').host.regenerate(current, empty)), cb, this)
      },
      /** Regenerate, bind the user for later events and listings, emit `session.login`. */
      login(this: Session, userId: string, options?: LoginOptions | NodeCallback, callback?: NodeCallback) {
        const cb = isCallback(options) ? options : isCallback(callback) ? callback : undefined
        const given = isCallback(options) ? undefined : options
        return settle(run(() => writable(this, 'session.login()').host.login(state(this), userId, given)), cb, this)
      },
      /** Destroy and emit `session.logout` with the user. */
      logout(this: Session, callback?: NodeCallback) {
        return settle(run(() => writable(this, 'session.logout()').host.destroy(state(this), true)), isCallback(callback) ? callback : undefined, this)
      },
      /** Remove the session from the store; the response clears the cookie. */
      destroy(this: Session, callback?: NodeCallback) {
        return settle(run(() => writable(this, 'session.destroy()').host.destroy(state(this), false)), isCallback(callback) ? callback : undefined, this)
      },
      /** Write the changes now instead of at the end of the request (with koa's autoCommit: false, also the cookie). */
      save(this: Session, callback?: NodeCallback) {
        const write = async () => {
          const current = writable(this, 'session.save()')
          if (current.manualCommit) return current.manualCommit()
          return current.host.save(current)
        }
        return settle(run(write), isCallback(callback) ? callback : undefined, this)
      },
      /** Replace the data with what the store holds now. */
      reload(this: Session, callback?: NodeCallback) {
        const current = state(this)
        return settle(run(() => current.host.reload(current)), isCallback(callback) ? callback : undefined, this)
      },
      /** Count this request as activity even if nothing changed (bypasses the touch throttle). */
      touch(this: Session) {
        const current = writable(this, 'session.touch()')
        current.host.touch(current)
        return this
      },
      /** express-session's resetMaxAge(): a remembered cookie's life starts again from its maxAge. */
      resetMaxAge(this: Session) {
        ;(this.cookie as SessionCookie).resetMaxAge()
        return this
      },
      /** koa-session's manuallyCommit() (with `autoCommit: false`): write the session and set its cookie now. */
      manuallyCommit(this: Session) {
        return run(async () => {
          const current = writable(this, 'session.manuallyCommit()')
          if (current.manualCommit) return current.manualCommit()
          return current.host.save(current)
        })
      },
      toJSON(this: Session) {
        return { ...this }
      },
    }
    const reserved = (name: string) => () => {
      throw new TypeError(`session.${name} is reserved by sesame and cannot be assigned; store your value under another name.`)
    }
    for (const [name, method] of Object.entries(methods)) {
      Object.defineProperty(Session.prototype, name, { get: () => method, set: reserved(name), enumerable: false, configurable: false })
    }
    Object.defineProperty(Session.prototype, 'id', {
      get(this: Session) {
        const current = state(this)
        return current.host.id(current)
      },
      set: reserved('id'),
      enumerable: false,
      configurable: false,
    })
    Object.defineProperty(Session.prototype, 'isNew', {
      get(this: Session) {
        return state(this).isNew
      },
      set: reserved('isNew'),
      enumerable: false,
      configurable: false,
    })
    Object.defineProperty(Session.prototype, 'meta', {
      get(this: Session): SessionMeta {
        const current = state(this)
        return Object.freeze({
          userId: current.userId,
          createdAt: current.createdAt,
          lastActiveAt: current.lastActiveAt,
          expiresAt: current.expiresAt,
        })
      },
      set: reserved('meta'),
      enumerable: false,
      configurable: false,
    })
    // express-session's `req.session.cookie` and koa-session's `maxAge`, `length`, `populated`.
    Object.defineProperty(Session.prototype, 'cookie', {
      get(this: Session): SessionCookie {
        const current = state(this)
        return (current.cookieView ??= new SessionCookie(current, current.host)) as SessionCookie
      },
      set: reserved('cookie'),
      enumerable: false,
      configurable: false,
    })
    Object.defineProperty(Session.prototype, 'maxAge', {
      /** koa-session's maxAge: the remembered duration in ms, or 'session' for a browser-session cookie. */
      get(this: Session): number | 'session' {
        const current = state(this)
        return current.remembered && current.rememberMs !== undefined ? current.rememberMs : 'session'
      },
      set(this: Session, value: number | 'session' | null) {
        const current = writable(this, 'setting session.maxAge')
        if (value === 'session' || value === null || value === undefined) current.host.remember(current, null)
        else if (typeof value === 'number' && Number.isFinite(value)) current.host.remember(current, value)
        else throw new TypeError("sesame: session.maxAge takes a number of milliseconds or 'session'.")
      },
      enumerable: false,
      configurable: false,
    })
    Object.defineProperty(Session.prototype, 'length', {
      get(this: Session): number {
        return Object.keys(this).length
      },
      set: reserved('length'),
      enumerable: false,
      configurable: false,
    })
    Object.defineProperty(Session.prototype, 'populated', {
      get(this: Session): boolean {
        return Object.keys(this).length > 0
      },
      set: reserved('populated'),
      enumerable: false,
      configurable: false,
    })
    Object.defineProperty(Session.prototype, REMEMBER_KEY, { get: () => undefined, set: reserved(REMEMBER_KEY), enumerable: false, configurable: false })
    // Assigning these would change the prototype or shadow the class: never data.
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      Object.defineProperty(Session.prototype, name, { get: () => undefined, set: reserved(name), enumerable: false, configurable: false })
    }
  }
}

/** The Session behind a read-only Proxy (engine writes go to the target, not through the trap). */
const readOnlyTargets = new WeakMap<object, Session>()

/** The session object for a request: writable, or behind a Proxy whose every write throws SessionReadOnly. */
export function sessionFor(requestState: RequestState): Session {
  const session = new Session(requestState)
  if (!requestState.readOnly) return session
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
  readOnlyTargets.set(proxy, session)
  return proxy
}

/** The Session object itself, for the engine's own writes (past a read-only Proxy). */
export function unwrap(session: Session): Session {
  return readOnlyTargets.get(session) ?? session
}

/** The typed view of a session: data by name plus the reserved members. */
export interface Session {
  readonly id: string
  readonly isNew: boolean
  readonly meta: SessionMeta
  regenerate(): Promise<void>
  regenerate(callback: NodeCallback): Session
  login(userId: string, options?: LoginOptions): Promise<void>
  login(userId: string, callback: NodeCallback): Session
  login(userId: string, options: LoginOptions, callback: NodeCallback): Session
  logout(): Promise<void>
  logout(callback: NodeCallback): Session
  destroy(): Promise<void>
  destroy(callback: NodeCallback): Session
  save(): Promise<void>
  save(callback: NodeCallback): Session
  reload(): Promise<void>
  reload(callback: NodeCallback): Session
  touch(): Session
  /** express-session's cookie: maxAge/expires ("remember me"), originalMaxAge, and the attributes. */
  readonly cookie: SessionCookie
  /** koa-session's maxAge: ms while remembered, else 'session'; assigning a number remembers. */
  maxAge: number | 'session'
  /** koa-session: how many data keys there are, and whether there is any. */
  readonly length: number
  readonly populated: boolean
  resetMaxAge(): Session
  manuallyCommit(): Promise<void>
}

/** A session that can be read but not changed (e.g. in a Next.js server component). */
export type ReadonlySession = Readonly<Record<string, unknown>> & {
  readonly id: string
  readonly isNew: boolean
  readonly meta: SessionMeta
  reload(): Promise<void>
}
