// expressSessionStore(store): any express-session Store (connect-redis, connect-mongo,
// connect-pg-simple, memorystore, ...) as a sesame SessionStore. Whole-record semantics and what they
// cost are in whole-record-store.ts and the Express README.
//
// The value written is an express-session "session" object: a `cookie` with `expires` and `maxAge`,
// from which those stores take their TTL, and the sesame record under `sesame`.

import { SessionConfigError } from '../errors.js'
import type { SessionStore } from '../store.js'
import { WholeRecordStore, type WholeValue } from './whole-record-store.js'

type Callback<T = unknown> = (error?: unknown, value?: T) => void

/** The part of express-session's Store that sesame calls. */
export interface ExpressSessionStoreLike {
  get(sid: string, callback: Callback): unknown
  set(sid: string, session: Record<string, unknown>, callback: Callback): unknown
  destroy(sid: string, callback: Callback): unknown
}

/** Call a callback-style store method; some stores (connect-redis 8+) also return a promise: settle once. */
function call<T>(invoke: (callback: Callback<T>) => unknown): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve, reject) => {
    let settled = false
    const done: Callback<T> = (error, value) => {
      if (settled) return
      settled = true
      if (error) reject(error instanceof Error ? error : new Error(String(error)))
      else resolve(value)
    }
    try {
      const result = invoke(done) as PromiseLike<T> | undefined
      if (result && typeof result.then === 'function') result.then((value) => done(undefined, value), (error: unknown) => done(error ?? new Error('store failed')))
    } catch (error) {
      done(error)
    }
  })
}

export function expressSessionStore(store: ExpressSessionStoreLike): SessionStore {
  for (const method of ['get', 'set', 'destroy'] as const) {
    if (typeof (store as unknown as Record<string, unknown> | null)?.[method] !== 'function') {
      throw new SessionConfigError(`\`store\` has no ${method}() method: pass an express-session Store (connect-redis, memorystore, ...) or a sesame store (memoryStore(), redisStore()).`)
    }
  }
  return new WholeRecordStore({
    async read(key) {
      return (await call((callback) => store.get(key, callback))) ?? undefined
    },
    async write(key, value: WholeValue, ttlMs) {
      const expires = new Date(Date.now() + ttlMs)
      const session = { cookie: { originalMaxAge: ttlMs, maxAge: ttlMs, expires: expires.toISOString(), httpOnly: true, path: '/' }, ...value }
      await call((callback) => store.set(key, session, callback))
    },
    async remove(key) {
      await call((callback) => store.destroy(key, callback))
    },
  })
}
