// The single-process store: a bounded LRU (lru-cache) of session records.
// Capacity evicts the least recently used session (reported as `evicted`); each entry's TTL is its
// own deadline, and an unref'd sweep removes expired entries without waiting for a read.

import { LRUCache } from 'lru-cache'
import { parseDuration } from '../duration.js'
import { SessionConfigError } from '../errors.js'
import type { SessionRecord, SessionStore, SessionUpdate, StoreEvent, StoreListener, StoredSession } from '../store.js'

export interface MemoryStoreOptions {
  /** Most sessions held at once. Default 10,000. */
  max?: number
  /** Optional cap on the total size of all records, in bytes of JSON (approximate). Default: none. */
  maxBytes?: number
  /** How often expired entries are swept out. Default '1m'. The timer never keeps the process alive. */
  sweepInterval?: number | string
}

const clock = { now: () => Date.now() }

function recordSize(record: SessionRecord): number {
  let size = 64 + (record.userId?.length ?? 0) + (record.ip?.length ?? 0) + (record.userAgent?.length ?? 0)
  for (const key in record.data) size += key.length + record.data[key]!.length + 8
  return size
}

export class MemoryStore implements SessionStore {
  readonly #cache: LRUCache<string, SessionRecord>
  readonly #byUser = new Map<string, Set<string>>()
  readonly #listeners = new Set<StoreListener>()
  #sweep: ReturnType<typeof setInterval> | undefined

  constructor(options: MemoryStoreOptions = {}) {
    const max = options.max ?? 10_000
    if (!Number.isInteger(max) || max <= 0) throw new SessionConfigError('memoryStore `max` must be a positive whole number of sessions.')
    if (options.maxBytes !== undefined && (!Number.isInteger(options.maxBytes) || options.maxBytes <= 0)) {
      throw new SessionConfigError('memoryStore `maxBytes` must be a positive whole number of bytes.')
    }
    const sweepMs = parseDuration(options.sweepInterval ?? 60_000)
    if (sweepMs === undefined || sweepMs <= 0) throw new SessionConfigError("memoryStore `sweepInterval` must be a positive duration such as '1m'.")
    this.#cache = new LRUCache<string, SessionRecord>({
      max,
      ...(options.maxBytes ? { maxSize: options.maxBytes, sizeCalculation: recordSize } : {}),
      // Date-based clock: deadlines are epoch times, and tests may fake Date.
      perf: clock,
      ttlResolution: 0,
      updateAgeOnGet: false,
      dispose: (record, id, reason) => {
        if (reason === 'set') return
        this.#unindex(id, record)
        if (reason === 'evict') this.#notify({ type: 'evicted', id, record })
        else if (reason === 'expire') this.#notify({ type: 'expired', id, record })
      },
    })
    this.#sweep = setInterval(() => this.#cache.purgeStale(), sweepMs)
    ;(this.#sweep as { unref?: () => void }).unref?.()
  }

  /** Sessions held now (expired ones not yet swept included). */
  get size(): number {
    return this.#cache.size
  }

  #notify(event: StoreEvent): void {
    for (const listener of this.#listeners) listener(event)
  }

  #index(id: string, userId: string | undefined): void {
    if (userId === undefined) return
    let ids = this.#byUser.get(userId)
    if (!ids) this.#byUser.set(userId, (ids = new Set()))
    ids.add(id)
  }

  #unindex(id: string, record: SessionRecord): void {
    if (record.userId === undefined) return
    const ids = this.#byUser.get(record.userId)
    if (!ids) return
    ids.delete(id)
    if (ids.size === 0) this.#byUser.delete(record.userId)
  }

  #put(id: string, record: SessionRecord): boolean {
    const ttl = record.expiresAt - Date.now()
    if (ttl <= 0) {
      this.#cache.delete(id)
      return false
    }
    this.#cache.set(id, record, { ttl })
    return true
  }

  get(id: string): SessionRecord | undefined {
    return this.#cache.get(id)
  }

  create(id: string, record: SessionRecord): boolean {
    if (this.#cache.has(id)) return false
    const frozen = Object.freeze({ ...record, data: Object.freeze({ ...record.data }) })
    if (!this.#put(id, frozen)) return true
    this.#index(id, frozen.userId)
    return true
  }

  update(id: string, update: SessionUpdate): boolean {
    const current = this.#cache.get(id)
    if (!current) return false
    const data: Record<string, string> = { ...current.data, ...update.set }
    for (const key of update.unset) delete data[key]
    const userId = update.userId === undefined ? current.userId : update.userId ?? undefined
    const next: SessionRecord = Object.freeze({
      ...current,
      data: Object.freeze(data),
      userId,
      lastActiveAt: update.lastActiveAt,
      expiresAt: Math.min(update.expiresAt, current.absoluteExpiresAt),
    })
    if (userId !== current.userId) this.#unindex(id, current)
    if (this.#put(id, next)) this.#index(id, userId)
    return true
  }

  touch(id: string, lastActiveAt: number, expiresAt: number): boolean {
    const current = this.#cache.get(id)
    if (!current) return false
    this.#put(id, Object.freeze({ ...current, lastActiveAt, expiresAt: Math.min(expiresAt, current.absoluteExpiresAt) }))
    return true
  }

  destroy(id: string): boolean {
    // lru-cache's dispose (reason 'delete') removes it from the user index.
    return this.#cache.delete(id)
  }

  listByUser(userId: string): StoredSession[] {
    const ids = this.#byUser.get(userId)
    if (!ids) return []
    const sessions: StoredSession[] = []
    for (const id of [...ids]) {
      const record = this.#cache.get(id, { updateAgeOnGet: false })
      if (record) sessions.push({ id, record })
    }
    return sessions
  }

  destroyByUser(userId: string, exceptId?: string): string[] {
    const ids = this.#byUser.get(userId)
    if (!ids) return []
    const removed: string[] = []
    for (const id of [...ids]) {
      if (id === exceptId) continue
      // get() purges an entry past its deadline (reported as expired), so it is not counted as revoked.
      if (this.#cache.get(id) === undefined) continue
      if (this.#cache.delete(id)) removed.push(id)
    }
    return removed
  }

  subscribe(listener: StoreListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Remove expired entries now (the sweep does this every `sweepInterval`). */
  purgeExpired(): void {
    this.#cache.purgeStale()
  }

  close(): void {
    if (this.#sweep) clearInterval(this.#sweep)
    this.#sweep = undefined
  }
}

export function memoryStore(options?: MemoryStoreOptions): MemoryStore {
  return new MemoryStore(options)
}
