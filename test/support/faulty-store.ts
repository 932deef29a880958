// Fault injection around a REAL store: every call goes to the wrapped store unless this
// operation has been switched to fail, as when the network to Redis drops.
import type { SessionRecord, SessionStore, SessionUpdate, StoreListener } from '@sesame/core'

export type Operation = 'get' | 'create' | 'update' | 'touch' | 'rename' | 'undoRename' | 'destroy' | 'listByUser' | 'destroyByUser'

export class FaultyStore implements SessionStore {
  readonly failing = new Set<Operation>()
  /** How many times each operation reached this store. */
  readonly calls: Record<Operation, number> = { get: 0, create: 0, update: 0, touch: 0, rename: 0, undoRename: 0, destroy: 0, listByUser: 0, destroyByUser: 0 }
  constructor(readonly inner: SessionStore) {}

  fail(...operations: Operation[]): void {
    for (const operation of operations) this.failing.add(operation)
  }

  heal(): void {
    this.failing.clear()
  }

  #check(operation: Operation): void {
    this.calls[operation]++
    if (this.failing.has(operation)) {
      const error = new Error(`connect ECONNREFUSED 127.0.0.1:6379 (injected on ${operation})`) as Error & { code: string }
      error.code = 'ECONNREFUSED'
      throw error
    }
  }

  async get(id: string) { this.#check('get'); return this.inner.get(id) }
  async create(id: string, record: SessionRecord) { this.#check('create'); return this.inner.create(id, record) }
  async update(id: string, update: SessionUpdate) { this.#check('update'); return this.inner.update(id, update) }
  async touch(id: string, lastActiveAt: number, expiresAt: number) { this.#check('touch'); return this.inner.touch(id, lastActiveAt, expiresAt) }
  async rename(oldId: string, newId: string, record: SessionRecord) { this.#check('rename'); return this.inner.rename(oldId, newId, record) }
  async undoRename(oldId: string, newId: string) { this.#check('undoRename'); return this.inner.undoRename(oldId, newId) }
  async destroy(id: string) { this.#check('destroy'); return this.inner.destroy(id) }
  async listByUser(userId: string) { this.#check('listByUser'); return this.inner.listByUser(userId) }
  async destroyByUser(userId: string, exceptId?: string) { this.#check('destroyByUser'); return this.inner.destroyByUser(userId, exceptId) }
  subscribe(listener: StoreListener) { return this.inner.subscribe?.(listener) ?? (() => {}) }
  close() { return this.inner.close?.() }
}
