// koaSessionStore(store): a koa-session external store (`{ get, set, destroy }`, e.g. koa-redis) as a
// sesame SessionStore. Whole-record semantics and what they cost are in whole-record-store.ts and the
// Koa README. The value written is `{ sesame: record }`; `maxAge` (the TTL koa-session stores take)
// is the time left until the record's deadline.

import { SessionConfigError } from '../errors.js'
import type { SessionStore } from '../store.js'
import { WholeRecordStore } from './whole-record-store.js'

/** koa-session's store interface; each method may return a value or a promise. */
export interface KoaSessionStoreLike {
  get(key: string, maxAge: number | 'session' | undefined, options: { rolling: boolean; ctx?: unknown }): unknown
  set(key: string, session: Record<string, unknown>, maxAge: number | 'session' | undefined, options: { rolling: boolean; changed: boolean; ctx?: unknown }): unknown
  destroy(key: string, options: { ctx?: unknown }): unknown
}

export interface KoaSessionStoreOptions {
  /** Put before every key (koa-session's `prefix` option), e.g. to keep apart apps sharing one Redis. */
  prefix?: string
}

export function koaSessionStore(store: KoaSessionStoreLike, { prefix = '' }: KoaSessionStoreOptions = {}): SessionStore {
  for (const method of ['get', 'set', 'destroy'] as const) {
    if (typeof (store as unknown as Record<string, unknown> | null)?.[method] !== 'function') {
      throw new SessionConfigError(`\`store\` has no ${method}() method: pass a koa-session store ({ get, set, destroy }) or a sesame store (memoryStore(), redisStore()).`)
    }
  }
  return new WholeRecordStore({
    async read(key) {
      return (await store.get(prefix + key, undefined, { rolling: false })) ?? undefined
    },
    async write(key, value, ttlMs) {
      await store.set(prefix + key, { ...value, _expire: Date.now() + ttlMs, _maxAge: ttlMs }, ttlMs, { rolling: false, changed: true })
    },
    async remove(key) {
      await store.destroy(prefix + key, {})
    },
  })
}
