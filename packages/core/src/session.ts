// The object users touch: `req.session`, `ctx.session`, `{ session }`.
// Data are the object's own enumerable properties. Everything sesame needs lives under a symbol
// (never collides with data), and the reserved names are accessors on the prototype whose setters
// throw, so `session.id = 'x'` or `session.save = 1` fails loudly instead of corrupting the session.

import { SessionReadOnly } from './errors.js'
import type { RequestState } from './state.js'

export const STATE: unique symbol = Symbol('sesame.session')

export interface SessionMeta {
  readonly userId: string | undefined
  readonly createdAt: number
  readonly lastActiveAt: number
  readonly expiresAt: number
}

/** Names data can never use. */
export const RESERVED = new Set([
  'id', 'isNew', 'meta', 'regenerate', 'login', 'logout', 'destroy', 'save', 'reload', 'touch',
  '__proto__', 'constructor', 'prototype', 'toJSON',
])

export interface Session {
  /** Any JSON value, by name. */
  [key: string]: unknown
}

/** Engine operations the session object calls. Implemented by Engine. */
export interface SessionHost {
  regenerate(state: RequestState): Promise<void>
  login(state: RequestState, userId: string): Promise<void>
  destroy(state: RequestState, logout: boolean): Promise<void>
  save(state: RequestState): Promise<void>
  reload(state: RequestState): Promise<void>
  touch(state: RequestState): void
  id(state: RequestState): string
}

function state(session: Session): RequestState {
  return (session as unknown as { [STATE]: RequestState })[STATE]
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
    const methods: Record<string, (this: Session, ...args: never[]) => unknown> = {
      /** New id, same data; the old id is gone from the store. Use on any privilege change. */
      async regenerate(this: Session) {
        const current = writable(this, 'session.regenerate()')
        return current.host.regenerate(current)
      },
      /** Regenerate, bind the user for later events and listings, emit `session.login`. */
      async login(this: Session, userId: string) {
        const current = writable(this, 'session.login()')
        return current.host.login(current, userId)
      },
      /** Destroy and emit `session.logout` with the user. */
      async logout(this: Session) {
        const current = writable(this, 'session.logout()')
        return current.host.destroy(current, true)
      },
      /** Remove the session from the store; the response clears the cookie. */
      async destroy(this: Session) {
        const current = writable(this, 'session.destroy()')
        return current.host.destroy(current, false)
      },
      /** Write the changes now instead of at the end of the request. */
      async save(this: Session) {
        const current = writable(this, 'session.save()')
        return current.host.save(current)
      },
      /** Replace the data with what the store holds now. */
      async reload(this: Session) {
        const current = state(this)
        return current.host.reload(current)
      },
      /** Count this request as activity even if nothing changed (bypasses the touch throttle). */
      touch(this: Session) {
        const current = writable(this, 'session.touch()')
        current.host.touch(current)
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
  login(userId: string): Promise<void>
  logout(): Promise<void>
  destroy(): Promise<void>
  save(): Promise<void>
  reload(): Promise<void>
  touch(): void
}

/** A session that can be read but not changed (e.g. in a Next.js server component). */
export type ReadonlySession = Readonly<Record<string, unknown>> & {
  readonly id: string
  readonly isNew: boolean
  readonly meta: SessionMeta
  reload(): Promise<void>
}
