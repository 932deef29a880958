// Opt-in availability over consistency: while the primary store fails, serve sessions from a fallback
// (usually a memory store), and go back to the primary once it answers again. The cost is real and
// the README says it plainly: sessions live in two places, so users are logged out on each switch.

import { parseDuration, SessionConfigError } from '@sesame/core'
import type { EpochMs, SessionRecord, SessionStore, SessionUpdate, StoreEvent, StoreListener, StoredSession } from '@sesame/core'

/** Reported to `subscribe()` listeners on every switch; the engine turns it into a `store.failover` audit event. */
export type FailoverEvent = Extract<StoreEvent, { type: 'failover' }>

export interface FailoverStoreOptions {
  /** While on the fallback, how often the primary is probed. Default '5s'. The timer never keeps the process alive. */
  probeInterval?: number | string
  /**
   * Logouts and revocations done while on the fallback are replayed on the primary before switching
   * back, so that a session ended during an outage does not come back with the primary. At most this
   * many are remembered; beyond it the oldest are dropped. Default 10,000.
   */
  maxPendingRevocations?: number
}

// Any id works as a probe: a get of an id that cannot exist proves the primary answers.
const PROBE_ID = 'sesame-failover-probe'

type Pending = { kind: 'session'; id: string } | { kind: 'user'; userId: string; exceptId: string | undefined }

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
  #pending: Pending[] = []

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

  async #call<T>(work: (store: SessionStore) => T | Promise<T>): Promise<T> {
    if (!this.#onFallback) {
      try {
        return await work(this.#primary)
      } catch {
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
      while (this.#pending.length > 0) {
        const next = this.#pending[0]!
        if (next.kind === 'session') await this.#primary.destroy(next.id)
        else await this.#primary.destroyByUser(next.userId, next.exceptId)
        this.#pending.shift()
      }
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

  #remember(revocation: Pending): void {
    if (this.#maxPending === 0) return
    this.#pending.push(revocation)
    if (this.#pending.length > this.#maxPending) this.#pending.shift()
  }

  get(id: string): Promise<SessionRecord | undefined> {
    return this.#call((store) => store.get(id))
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

  destroy(id: string): Promise<boolean> {
    return this.#call((store) => {
      if (store === this.#fallback) this.#remember({ kind: 'session', id })
      return store.destroy(id)
    })
  }

  listByUser(userId: string): Promise<StoredSession[]> {
    return this.#call((store) => store.listByUser(userId))
  }

  destroyByUser(userId: string, exceptId?: string): Promise<string[]> {
    return this.#call((store) => {
      if (store === this.#fallback) this.#remember({ kind: 'user', userId, exceptId })
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
