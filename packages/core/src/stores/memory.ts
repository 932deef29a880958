// The single-process store: a bounded LRU (lru-cache) of session records, in two tiers.
// Anonymous sessions and sessions bound to a user (after login) live in separate LRUs that share one
// capacity: when full, the least recently used ANONYMOUS session goes first, and a user-bound one only
// when no anonymous session is left. So a client creating sessions in a loop (each request without a
// cookie can create one) pushes out other anonymous sessions, never a logged-in user's.
// Each entry's TTL is its own deadline, and an unref'd sweep removes expired entries without waiting
// for a read. Evictions are reported as `evicted`, expiries as `expired`.

import { LRUCache } from 'lru-cache'
import { parseDuration } from '../duration.js'
import { SessionConfigError } from '../errors.js'
import type { SessionRecord, SessionStore, SessionUpdate, StoreEvent, StoreListener, StoredSession } from '../store.js'

export interface MemoryStoreOptions {
  /** Most sessions held at once, anonymous and logged-in together. Default 10,000. */
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

/**
 * The frozen record a store entry holds: `base`'s fixed fields with the ones that change. Written out
 * field by field, not as `Object.freeze({ ...base, ... })`: V8 keeps a frozen spread copy as a
 * dictionary, 448 bytes of heap per record here against 160 for this literal (measured with 100,000
 * records), and the store holds one per session.
 */
function storedRecord(base: SessionRecord, data: SessionRecord['data'], userId: string | undefined, lastActiveAt: number, expiresAt: number): SessionRecord {
  return Object.freeze({
    data,
    userId,
    createdAt: base.createdAt,
    lastActiveAt,
    expiresAt,
    absoluteExpiresAt: base.absoluteExpiresAt,
    ip: base.ip,
    userAgent: base.userAgent,
  })
}

type Tier = LRUCache<string, SessionRecord>
/**
 * How many renamed-away records are kept for undoRename. A rename here is synchronous, so the engine
 * never needs an undo of one that applied; the contract still says what an undo does.
 */
const MAX_RETIRED = 64
const STALE_TOO = { allowStale: true } as const

export class MemoryStore implements SessionStore {
  /** Sessions without a bound user: evicted first. */
  readonly #anonymous: Tier
  /** Sessions bound to a user by login(): evicted only when no anonymous session is left. */
  readonly #users: Tier
  readonly #max: number
  readonly #maxBytes: number | undefined
  readonly #byUser = new Map<string, Set<string>>()
  readonly #listeners = new Set<StoreListener>()
  /** oldId -> the record a rename moved away from it (for undoRename), the last MAX_RETIRED renames. */
  readonly #retired = new Map<string, { newId: string; record: SessionRecord }>()
  #sweep: ReturnType<typeof setInterval> | undefined

  constructor(options: MemoryStoreOptions = {}) {
    const max = options.max ?? 10_000
    if (!Number.isInteger(max) || max <= 0) throw new SessionConfigError('memoryStore `max` must be a positive whole number of sessions.')
    if (options.maxBytes !== undefined && (!Number.isInteger(options.maxBytes) || options.maxBytes <= 0)) {
      throw new SessionConfigError('memoryStore `maxBytes` must be a positive whole number of bytes.')
    }
    const sweepMs = parseDuration(options.sweepInterval ?? 60_000)
    if (sweepMs === undefined || sweepMs <= 0) throw new SessionConfigError("memoryStore `sweepInterval` must be a positive duration such as '1m'.")
    this.#max = max
    this.#maxBytes = options.maxBytes
    // Each tier alone may hold up to the whole budget (when the other is empty); the shared budget
    // is enforced across both by #makeRoom and #shrinkToBytes.
    // Bounded by `max`, lru-cache allocates its arrays for `max` entries up front (~32 bytes of heap
    // and ~12 outside it per entry): right for the anonymous tier, which a flood of new sessions fills,
    // but the users tier is mostly small. It is bounded by the same count through `maxSize` instead
    // (one unit per session), and its arrays grow with what it holds.
    const tier = (preallocate: boolean): Tier =>
      new LRUCache<string, SessionRecord>({
        ...(options.maxBytes
          ? { max: preallocate ? max : 0, maxSize: options.maxBytes, sizeCalculation: recordSize }
          : preallocate
            ? { max }
            : { maxSize: max, sizeCalculation: () => 1 }),
        // Date-based clock: deadlines are epoch times, and tests may fake Date.
        perf: clock,
        ttlResolution: 0,
        updateAgeOnGet: false,
        dispose: (record, id, reason) => {
          // 'set' replaces a record in place; 'delete' is ours (destroy, a move between tiers), and
          // the code that deletes keeps the user index itself.
          if (reason === 'set' || reason === 'delete') return
          this.#unindex(id, record)
          // An entry that was already past its deadline when pushed out died of age, not of capacity.
          if (reason === 'evict' && record.expiresAt > Date.now()) this.#notify({ type: 'evicted', id, record })
          else this.#notify({ type: 'expired', id, record })
        },
      })
    this.#anonymous = tier(true)
    this.#users = tier(false)
    this.#sweep = setInterval(() => this.purgeExpired(), sweepMs)
    ;(this.#sweep as { unref?: () => void }).unref?.()
  }

  /** Sessions held now (expired ones not yet swept included). */
  get size(): number {
    return this.#anonymous.size + this.#users.size
  }

  #tierFor(record: SessionRecord): Tier {
    return record.userId === undefined ? this.#anonymous : this.#users
  }

  /** The tier holding `id` (expired or not), if any. */
  #tierOf(id: string): Tier | undefined {
    if (this.#anonymous.peek(id, STALE_TOO) !== undefined) return this.#anonymous
    if (this.#users.peek(id, STALE_TOO) !== undefined) return this.#users
    return undefined
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

  /** Remove `id` from whichever tier holds it, keeping the user index. Returns whether it was live. */
  #remove(id: string): boolean {
    const tier = this.#tierOf(id)
    if (!tier) return false
    const record = tier.peek(id, STALE_TOO)!
    const live = tier.has(id)
    tier.delete(id)
    this.#unindex(id, record)
    return live
  }

  /** Before a new id is added at capacity: evict one session, anonymous first. */
  #makeRoom(): void {
    if (this.size < this.#max) return
    // pop() removes a tier's least recently used entry and reports it through dispose ('evict').
    if (this.#anonymous.size > 0) this.#anonymous.pop()
    else this.#users.pop()
  }

  /** After a write with maxBytes: evict (anonymous first) until both tiers fit, never `keep`. */
  #shrinkToBytes(keep: string): void {
    if (this.#maxBytes === undefined) return
    while (this.#anonymous.calculatedSize + this.#users.calculatedSize > this.#maxBytes) {
      // The entry just written is its tier's most recently used: pop() reaches it only if it is alone.
      const anonymousOthers = this.#anonymous.size - (this.#anonymous.has(keep) ? 1 : 0)
      const userOthers = this.#users.size - (this.#users.has(keep) ? 1 : 0)
      if (anonymousOthers > 0) this.#anonymous.pop()
      else if (userOthers > 0) this.#users.pop()
      else return
    }
  }

  /** Store `record` under `id` in its tier until its deadline. Returns false if already past it. */
  #put(id: string, record: SessionRecord): boolean {
    const ttl = record.expiresAt - Date.now()
    if (ttl <= 0) {
      this.#remove(id)
      return false
    }
    this.#tierFor(record).set(id, record, { ttl })
    if (this.#maxBytes !== undefined) this.#shrinkToBytes(id)
    return true
  }

  get(id: string): SessionRecord | undefined {
    // A get past the deadline removes the entry and reports it as expired (dispose, 'expire').
    return this.#anonymous.get(id) ?? this.#users.get(id)
  }

  create(id: string, record: SessionRecord): boolean {
    if (this.#tierOf(id) !== undefined) {
      if (this.#anonymous.has(id) || this.#users.has(id)) return false
      // An expired entry under this id may linger until the sweep: it is gone now.
      this.#remove(id)
    }
    const frozen = storedRecord(record, Object.freeze({ ...record.data }), record.userId, record.lastActiveAt, record.expiresAt)
    if (frozen.expiresAt <= Date.now()) return true
    this.#makeRoom()
    if (this.#put(id, frozen)) this.#index(id, frozen.userId)
    return true
  }

  update(id: string, update: SessionUpdate): boolean {
    const current = this.get(id)
    if (!current) return false
    const data: Record<string, string> = { ...current.data, ...update.set }
    for (const key of update.unset) delete data[key]
    const userId = update.userId === undefined ? current.userId : update.userId ?? undefined
    const next = storedRecord(current, Object.freeze(data), userId, update.lastActiveAt, Math.min(update.expiresAt, current.absoluteExpiresAt))
    if (userId !== current.userId) {
      // Bound or unbound: the session changes tier (same id, so the total count is unchanged).
      this.#remove(id)
    }
    if (this.#put(id, next)) this.#index(id, userId)
    return true
  }

  touch(id: string, lastActiveAt: number, expiresAt: number): boolean {
    const current = this.get(id)
    if (!current) return false
    this.#put(id, storedRecord(current, current.data, current.userId, lastActiveAt, Math.min(expiresAt, current.absoluteExpiresAt)))
    return true
  }

  rename(oldId: string, newId: string, record: SessionRecord): boolean {
    // Synchronous, so it is one step: nothing else runs between the checks and the move.
    const old = this.get(oldId)
    if (old === undefined || this.#tierOf(newId) !== undefined) return false
    this.#remove(oldId)
    this.#retire(oldId, newId, old)
    return this.create(newId, record)
  }

  undoRename(oldId: string, newId: string): boolean {
    const retired = this.#retired.get(oldId)
    if (retired !== undefined && retired.newId === newId) {
      this.#retired.delete(oldId)
      this.#remove(newId)
      this.create(oldId, retired.record)
    }
    // Without a retired record under this pair the rename never applied: nothing to take back.
    return this.get(oldId) !== undefined
  }

  /** Keep what a rename replaced, so that undoRename can put it back exactly (a few, oldest dropped). */
  #retire(oldId: string, newId: string, record: SessionRecord): void {
    this.#retired.set(oldId, { newId, record })
    if (this.#retired.size > MAX_RETIRED) {
      const oldest = this.#retired.keys().next().value
      if (oldest !== undefined) this.#retired.delete(oldest)
    }
  }

  destroy(id: string): boolean {
    return this.#remove(id)
  }

  listByUser(userId: string): StoredSession[] {
    const ids = this.#byUser.get(userId)
    if (!ids) return []
    const sessions: StoredSession[] = []
    for (const id of [...ids]) {
      const record = this.#users.get(id)
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
      if (this.get(id) === undefined) continue
      if (this.#remove(id)) removed.push(id)
    }
    return removed
  }

  subscribe(listener: StoreListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Remove expired entries now (the sweep does this every `sweepInterval`). */
  purgeExpired(): void {
    this.#anonymous.purgeStale()
    this.#users.purgeStale()
  }

  close(): void {
    if (this.#sweep) clearInterval(this.#sweep)
    this.#sweep = undefined
  }
}

export function memoryStore(options?: MemoryStoreOptions): MemoryStore {
  return new MemoryStore(options)
}
