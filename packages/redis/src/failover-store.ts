// Opt-in availability over consistency: while the primary store fails, serve sessions from a fallback
// (usually a memory store), and go back to the primary once it answers again. The cost is real and
// the README says it plainly: sessions live in two places, so users are logged out on each switch.
//
// What it never does is undo a logout or revocation. Every session id the fallback ends or cannot see
// is a tombstone: destroyed ids, both ids of a rename, every id a get() missed (a session that lives
// only in the primary: the engine treats it as unknown, clears the browser's cookie, and a logout of
// it never reaches the store), and every revoke-all of a user. Tombstones are applied to the primary
// before it serves again. When no more fit, the calls that need one fail (HTTP 503) rather than be
// acknowledged without lasting.

import { parseDuration, SessionConfigError, SessionStoreUnavailable } from '@sesame/core'
import { SessionInDoubt } from './session-in-doubt.js'
import type { EpochMs, SessionRecord, SessionStore, SessionUpdate, StoreEvent, StoreListener, StoredSession } from '@sesame/core'

/** Reported to `subscribe()` listeners on every switch; the engine turns it into a `store.failover` audit event. */
export type FailoverEvent = Extract<StoreEvent, { type: 'failover' }>

export interface FailoverStoreOptions {
  /** While on the fallback, how often the primary is probed. Default '5s'. The timer never keeps the process alive. */
  probeInterval?: number | string
  /**
   * Sessions ended (or not found) and users revoked while on the fallback are applied to the primary
   * before switching back, so that a session ended during an outage does not come back with the
   * primary. At most this many are remembered; once full, a call that needs one more (a logout, a
   * revoke, a get that finds no session) fails with SessionStoreUnavailable (503) instead of being
   * acknowledged. Default 10,000.
   */
  maxPendingRevocations?: number
}

// Any id works as a probe: a get of an id that cannot exist proves the primary answers.
const PROBE_ID = 'sesame-failover-probe'

// How many tombstones go to the primary at once during the replay (each is one store call).
const REPLAY_BATCH = 100

export class FailoverStore implements SessionStore {
  readonly #primary: SessionStore
  readonly #fallback: SessionStore
  readonly #probeMs: number
  readonly #maxPending: number
  readonly #listeners = new Set<StoreListener>()
  readonly #unsubscribe: Array<() => void> = []
  #onFallback = false
  #probe: ReturnType<typeof setInterval> | undefined
  #probing = false
  /** Session ids to destroy on the primary before it serves again. */
  readonly #endedIds = new Set<string>()
  /** Revoke-alls to apply on the primary before it serves again (key: userId + except). */
  readonly #revokedUsers = new Map<string, { userId: string; exceptId: string | undefined }>()

  constructor(primary: SessionStore, fallback: SessionStore, options: FailoverStoreOptions = {}) {
    for (const [name, store] of [['primary', primary], ['fallback', fallback]] as const) {
      if (typeof store?.get !== 'function') throw new SessionConfigError(`failoverStore(primary, fallback): \`${name}\` is not a SessionStore.`)
    }
    const probeMs = parseDuration(options.probeInterval ?? 5_000)
    if (probeMs === undefined || probeMs <= 0) throw new SessionConfigError("failoverStore `probeInterval` must be a positive duration such as '5s'.")
    const maxPending = options.maxPendingRevocations ?? 10_000
    if (!Number.isInteger(maxPending) || maxPending < 0) throw new SessionConfigError('failoverStore `maxPendingRevocations` must be a whole number.')
    this.#primary = primary
    this.#fallback = fallback
    this.#probeMs = probeMs
    this.#maxPending = maxPending
    // Evictions and expiries of either store still reach the engine.
    for (const store of [primary, fallback]) {
      const unsubscribe = store.subscribe?.((event) => this.#emit(event))
      if (unsubscribe) this.#unsubscribe.push(unsubscribe)
    }
  }

  /** Which store serves calls now. */
  get state(): 'primary' | 'fallback' {
    return this.#onFallback ? 'fallback' : 'primary'
  }

  #emit(event: StoreEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch {
        // A listener's failure must not turn a served request into a failed one.
      }
    }
  }

  async #call<T>(work: (store: SessionStore) => T | Promise<T>, onPrimaryFailure?: () => void): Promise<T> {
    if (!this.#onFallback) {
      try {
        return await work(this.#primary)
      } catch (error) {
        // The primary answered; only this session's fate is unknown (a rename in flight): not an outage.
        if (error instanceof SessionInDoubt) throw error
        onPrimaryFailure?.()
        this.#switchToFallback()
      }
    }
    return work(this.#fallback)
  }

  #switchToFallback(): void {
    if (this.#onFallback) return
    this.#onFallback = true
    this.#emit({ type: 'failover', state: 'fallback' })
    this.#probe = setInterval(() => void this.#tryPrimary(), this.#probeMs)
    ;(this.#probe as { unref?: () => void }).unref?.()
  }

  async #tryPrimary(): Promise<void> {
    if (this.#probing || !this.#onFallback) return
    this.#probing = true
    try {
      await this.#primary.get(PROBE_ID)
      // Calls keep going to the fallback meanwhile, and may add tombstones: loop until none is left.
      while (this.#endedIds.size > 0 || this.#revokedUsers.size > 0) {
        for (const [key, { userId, exceptId }] of [...this.#revokedUsers]) {
          await this.#primary.destroyByUser(userId, exceptId)
          this.#revokedUsers.delete(key)
        }
        const batch = [...this.#endedIds].slice(0, REPLAY_BATCH)
        await Promise.all(batch.map((id) => this.#primary.destroy(id)))
        for (const id of batch) this.#endedIds.delete(id)
      }
      // No await from here on: no call can slip onto the fallback between the last tombstone and the switch.
      clearInterval(this.#probe)
      this.#probe = undefined
      this.#onFallback = false
      this.#emit({ type: 'failover', state: 'primary' })
    } catch {
      // Still down (or failed mid-replay): stay on the fallback and try again at the next probe.
    } finally {
      this.#probing = false
    }
  }

  /** Remember that `id` must not be alive on the primary when it serves again; throws when there is no room. */
  #tombstone(operation: string, id: string): void {
    if (this.#endedIds.has(id)) return
    this.#makeRoom(operation)
    this.#endedIds.add(id)
  }

  #makeRoom(operation: string): void {
    if (this.#endedIds.size + this.#revokedUsers.size < this.#maxPending) return
    throw new SessionStoreUnavailable(operation, {
      cause: new Error(`failoverStore: ${this.#maxPending} sessions ended during the outage wait for the primary (maxPendingRevocations); refusing to end more that could come back`),
    })
  }

  get(id: string): Promise<SessionRecord | undefined> {
    return this.#call(async (store) => {
      const record = await store.get(id)
      // A miss on the fallback is (usually) a session that lives only in the primary: the engine
      // starts a fresh session, clears the cookie, and a logout of it would never reach the store.
      // So it is ended on the primary too: nobody is told it is alive, it must not come back.
      if (record === undefined && store === this.#fallback) this.#tombstone('get', id)
      return record
    })
  }

  create(id: string, record: SessionRecord): Promise<boolean> {
    return this.#call((store) => store.create(id, record))
  }

  update(id: string, update: SessionUpdate): Promise<boolean> {
    return this.#call((store) => store.update(id, update))
  }

  touch(id: string, lastActiveAt: EpochMs, expiresAt: EpochMs): Promise<boolean> {
    return this.#call((store) => store.touch(id, lastActiveAt, expiresAt))
  }

  /**
   * A rename that fails on the primary may still land there later: it is taken back there (an
   * undoRename, which the primary runs after it) before the fallback answers, and both ids are
   * tombstones.
   */
  rename(oldId: string, newId: string, record: SessionRecord): Promise<boolean> {
    return this.#call(
      (store) => {
        if (store === this.#fallback) {
          this.#tombstone('rename', oldId)
          this.#tombstone('rename', newId)
        }
        return store.rename(oldId, newId, record)
      },
      () => void Promise.resolve().then(() => this.#primary.undoRename(oldId, newId)).catch(() => {}),
    )
  }

  undoRename(oldId: string, newId: string): Promise<boolean> {
    return this.#call((store) => {
      if (store === this.#fallback) this.#tombstone('undoRename', newId)
      return store.undoRename(oldId, newId)
    })
  }

  destroy(id: string): Promise<boolean> {
    return this.#call((store) => {
      if (store === this.#fallback) this.#tombstone('destroy', id)
      return store.destroy(id)
    })
  }

  listByUser(userId: string): Promise<StoredSession[]> {
    return this.#call((store) => store.listByUser(userId))
  }

  destroyByUser(userId: string, exceptId?: string): Promise<string[]> {
    return this.#call((store) => {
      if (store === this.#fallback) {
        const key = `${exceptId ?? ''}\u0000${userId}`
        if (!this.#revokedUsers.has(key)) {
          this.#makeRoom('destroyByUser')
          this.#revokedUsers.set(key, { userId, exceptId })
        }
      }
      return store.destroyByUser(userId, exceptId)
    })
  }

  /** Listeners get the stores' own events, and `{ type: 'failover', state }` on every switch. */
  subscribe(listener: StoreListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Stops the probe and closes both stores (each closes only what it owns). */
  async close(): Promise<void> {
    if (this.#probe) clearInterval(this.#probe)
    this.#probe = undefined
    for (const unsubscribe of this.#unsubscribe) unsubscribe()
    await this.#primary.close?.()
    await this.#fallback.close?.()
  }
}

export function failoverStore(primary: SessionStore, fallback: SessionStore, options?: FailoverStoreOptions): FailoverStore {
  return new FailoverStore(primary, fallback, options)
}
