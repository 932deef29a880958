// A SessionStore on top of a store that can only read, replace and delete whole values by key
// (express-session stores, koa-session stores). Shared by expressSessionStore and koaSessionStore.
//
// What such a store cannot give, and what this wrapper does about it:
// - A change is not applied inside the store: update re-reads the record just before writing it and
//   applies only this request's changed keys to what it read, so a concurrent write to OTHER keys is
//   lost only if it lands between that read and the write. Within one process the wrapper runs the
//   operations on one session one after another, so only requests served by different processes
//   sharing the store can still lose an update that way. (sesame's own stores apply changes
//   atomically and never lose one.)
// - create / update / touch "only if it (does not) exist" are a read then a write: another process
//   may act in between.
// - rename writes the record under the new key, then deletes the old one (a crash in between leaves
//   both; the old one just times out); undoRename restores the old record this wrapper read before
//   renaming, and runs after the rename it undoes (same queue).
// - The per-user index (listByUser, destroyByUser) is one more value under `user:<userId>`, updated the
//   same read-then-write way.
// Keys are the engine's store keys (a hash of the session id), like every store's.

import type { EpochMs, SessionRecord, SessionStore, SessionUpdate, StoredSession } from '../store.js'

/** The three operations every whole-record store has, as promises; `ttlMs` is how long the value must live. */
export interface WholeValueStore {
  read(key: string): Promise<unknown>
  write(key: string, value: WholeValue, ttlMs: number): Promise<void>
  remove(key: string): Promise<void>
}

/** What this wrapper stores under a key: a session record or a user index (plus whatever the peer store needs). */
export interface WholeValue {
  sesame?: StoredRecord
  sesameUser?: { ids: Record<string, EpochMs> }
  [extra: string]: unknown
}

type StoredRecord = { v: 1 } & Omit<SessionRecord, 'userId' | 'ip' | 'userAgent'> & { userId?: string; ip?: string; userAgent?: string }

const USER_PREFIX = 'user:'

function toRecord(value: unknown, now: EpochMs): SessionRecord | undefined {
  const stored = (value as WholeValue | null | undefined)?.sesame
  if (!stored || stored.v !== 1 || typeof stored.expiresAt !== 'number' || stored.expiresAt <= now) return undefined
  const record: { -readonly [K in keyof SessionRecord]: SessionRecord[K] } = {
    data: { ...stored.data },
    createdAt: stored.createdAt,
    lastActiveAt: stored.lastActiveAt,
    expiresAt: Math.min(stored.expiresAt, stored.absoluteExpiresAt),
    absoluteExpiresAt: stored.absoluteExpiresAt,
  }
  if (typeof stored.userId === 'string') record.userId = stored.userId
  if (typeof stored.ip === 'string') record.ip = stored.ip
  if (typeof stored.userAgent === 'string') record.userAgent = stored.userAgent
  return record
}

function toStored(record: SessionRecord): StoredRecord {
  const stored: StoredRecord = {
    v: 1,
    data: { ...record.data },
    createdAt: record.createdAt,
    lastActiveAt: record.lastActiveAt,
    expiresAt: Math.min(record.expiresAt, record.absoluteExpiresAt),
    absoluteExpiresAt: record.absoluteExpiresAt,
  }
  if (record.userId !== undefined) stored.userId = record.userId
  if (record.ip !== undefined) stored.ip = record.ip
  if (record.userAgent !== undefined) stored.userAgent = record.userAgent
  return stored
}

export class WholeRecordStore implements SessionStore {
  readonly #inner: WholeValueStore
  /** The tail of each key's queue of operations (operations on one key run one after another). */
  readonly #queues = new Map<string, Promise<unknown>>()
  /** The record read before each rename still in flight or recently done, so undoRename can put it back. */
  readonly #renamed = new Map<string, { oldKey: string; record: SessionRecord }>()

  constructor(inner: WholeValueStore) {
    this.#inner = inner
  }

  /** Run `operation` after every earlier operation on any of `keys` (no two touch a key at once). */
  #serial<T>(keys: readonly string[], operation: () => Promise<T>): Promise<T> {
    const before = keys.map((key) => this.#queues.get(key)).filter((tail) => tail !== undefined)
    const run = Promise.all(before.map((tail) => tail.catch(() => {}))).then(operation)
    const tail = run.catch(() => {})
    for (const key of keys) this.#queues.set(key, tail)
    void tail.then(() => {
      for (const key of keys) if (this.#queues.get(key) === tail) this.#queues.delete(key)
    })
    return run
  }

  async #get(key: string): Promise<SessionRecord | undefined> {
    return toRecord(await this.#inner.read(key), Date.now())
  }

  async #put(key: string, record: SessionRecord): Promise<void> {
    const stored = toStored(record)
    await this.#inner.write(key, { sesame: stored }, Math.max(1, stored.expiresAt - Date.now()))
  }

  get(id: string): Promise<SessionRecord | undefined> {
    return this.#serial([id], () => this.#get(id))
  }

  create(id: string, record: SessionRecord): Promise<boolean> {
    return this.#serial([id], async () => {
      if (await this.#get(id)) return false
      await this.#put(id, record)
      if (record.userId !== undefined) await this.#index(record.userId, id, record.absoluteExpiresAt)
      return true
    })
  }

  update(id: string, update: SessionUpdate): Promise<boolean> {
    return this.#serial([id], async () => {
      // Re-read just before the write: only this request's changes are applied to what is there now.
      const current = await this.#get(id)
      if (!current) return false
      const data: Record<string, string> = { ...current.data, ...update.set }
      for (const key of update.unset) delete data[key]
      const userId = update.userId === undefined ? current.userId : (update.userId ?? undefined)
      const next: SessionRecord = {
        ...current,
        data,
        userId,
        lastActiveAt: update.lastActiveAt,
        expiresAt: Math.min(update.expiresAt, current.absoluteExpiresAt),
      }
      await this.#put(id, next)
      if (userId !== current.userId) {
        if (current.userId !== undefined) await this.#unindex(current.userId, id)
        if (userId !== undefined) await this.#index(userId, id, current.absoluteExpiresAt)
      }
      return true
    })
  }

  touch(id: string, lastActiveAt: EpochMs, expiresAt: EpochMs): Promise<boolean> {
    return this.#serial([id], async () => {
      const current = await this.#get(id)
      if (!current) return false
      await this.#put(id, { ...current, lastActiveAt, expiresAt: Math.min(expiresAt, current.absoluteExpiresAt) })
      return true
    })
  }

  rename(oldId: string, newId: string, record: SessionRecord): Promise<boolean> {
    return this.#serial([oldId, newId], async () => {
      const old = await this.#get(oldId)
      if (!old || (await this.#get(newId))) return false
      this.#renamed.set(newId, { oldKey: oldId, record: old })
      await this.#put(newId, record)
      await this.#inner.remove(oldId)
      if (old.userId !== undefined) await this.#unindex(old.userId, oldId)
      if (record.userId !== undefined) await this.#index(record.userId, newId, record.absoluteExpiresAt)
      // Kept only as long as an undo could still come (the engine asks for it at once, or never).
      setTimeout(() => this.#renamed.delete(newId), 60_000).unref?.()
      return true
    })
  }

  undoRename(oldId: string, newId: string): Promise<boolean> {
    return this.#serial([oldId, newId], async () => {
      const renamed = this.#renamed.get(newId)
      if (renamed && renamed.oldKey === oldId) {
        this.#renamed.delete(newId)
        const moved = await this.#get(newId)
        await this.#inner.remove(newId)
        if (moved?.userId !== undefined) await this.#unindex(moved.userId, newId)
        await this.#put(oldId, renamed.record)
        if (renamed.record.userId !== undefined) await this.#index(renamed.record.userId, oldId, renamed.record.absoluteExpiresAt)
        return true
      }
      // The rename never applied: the old session is as it was.
      return (await this.#get(oldId)) !== undefined
    })
  }

  destroy(id: string): Promise<boolean> {
    return this.#serial([id], async () => {
      const current = await this.#get(id)
      await this.#inner.remove(id)
      if (current?.userId !== undefined) await this.#unindex(current.userId, id)
      return current !== undefined
    })
  }

  async listByUser(userId: string): Promise<StoredSession[]> {
    const ids = await this.#indexed(userId)
    const sessions: StoredSession[] = []
    for (const id of ids) {
      const record = await this.get(id)
      if (record && record.userId === userId) sessions.push({ id, record })
    }
    return sessions
  }

  async destroyByUser(userId: string, exceptId?: string): Promise<string[]> {
    const removed: string[] = []
    for (const { id } of await this.listByUser(userId)) {
      if (id === exceptId) continue
      if (await this.destroy(id)) removed.push(id)
    }
    return removed
  }

  // ---- the per-user index: { sesameUser: { ids: { [key]: absoluteExpiresAt } } } under user:<userId>

  async #indexed(userId: string): Promise<string[]> {
    const value = (await this.#inner.read(USER_PREFIX + userId)) as WholeValue | null | undefined
    const now = Date.now()
    return Object.entries(value?.sesameUser?.ids ?? {})
      .filter(([, deadline]) => deadline > now)
      .map(([id]) => id)
  }

  #index(userId: string, id: string, absoluteExpiresAt: EpochMs): Promise<void> {
    return this.#changeIndex(userId, (ids) => {
      ids[id] = absoluteExpiresAt
    })
  }

  #unindex(userId: string, id: string): Promise<void> {
    return this.#changeIndex(userId, (ids) => {
      delete ids[id]
    })
  }

  #changeIndex(userId: string, change: (ids: Record<string, EpochMs>) => void): Promise<void> {
    const key = USER_PREFIX + userId
    return this.#serial([key], async () => {
      const value = (await this.#inner.read(key)) as WholeValue | null | undefined
      const now = Date.now()
      const ids: Record<string, EpochMs> = {}
      for (const [id, deadline] of Object.entries(value?.sesameUser?.ids ?? {})) if (deadline > now) ids[id] = deadline
      change(ids)
      const last = Math.max(0, ...Object.values(ids))
      if (last <= now) await this.#inner.remove(key)
      else await this.#inner.write(key, { sesameUser: { ids } }, last - now)
    })
  }
}
