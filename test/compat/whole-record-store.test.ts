// What the whole-record wrappers add beyond the shared contract suite: rename / undoRename (the id
// change of regenerate and login) as well as a store that can only replace whole values can do it,
// and the per-user index kept in step. On memorystore, a real express-session store from npm.
import expressSession from 'express-session'
import createMemoryStore from 'memorystore'
import { afterEach, describe, expect, it } from 'vitest'
import { expressSessionStore, type SessionStore } from '@sesame/core'
import { aRecord, newId } from '../support/store-contract.js'

const MemoryStore = createMemoryStore(expressSession)
let inner: InstanceType<typeof MemoryStore>
let store: SessionStore

function fresh(): SessionStore {
  inner = new MemoryStore({ checkPeriod: 60_000 })
  store = expressSessionStore(inner)
  return store
}

afterEach(() => inner?.stopInterval())

describe('expressSessionStore rename / undoRename', () => {
  it('rename moves the record and its user index entry to the new id in one call', async () => {
    fresh()
    const [oldId, newIdValue] = [newId(), newId()]
    await store.create(oldId, aRecord({ userId: 'u1' }))
    const moved = aRecord({ userId: 'u1', data: { cart: '["pear"]' } })
    expect(await store.rename(oldId, newIdValue, moved)).toBe(true)
    expect(await store.get(oldId)).toBeUndefined()
    expect((await store.get(newIdValue))?.data).toEqual({ cart: '["pear"]' })
    expect((await store.listByUser('u1')).map((s) => s.id)).toEqual([newIdValue])
  })

  it('rename refuses, changing nothing, when the old id is gone or the new one exists', async () => {
    fresh()
    const [a, b, c] = [newId(), newId(), newId()]
    expect(await store.rename(a, b, aRecord())).toBe(false)
    expect(await store.get(b)).toBeUndefined()
    await store.create(a, aRecord({ data: { n: '1' } }))
    await store.create(b, aRecord({ data: { n: '2' } }))
    expect(await store.rename(a, b, aRecord({ data: { n: '3' } }))).toBe(false)
    expect((await store.get(a))?.data).toEqual({ n: '1' })
    expect((await store.get(b))?.data).toEqual({ n: '2' })
    expect(await store.get(c)).toBeUndefined()
  })

  it('undoRename puts the old session back exactly as it was, even when asked while the rename is in flight', async () => {
    fresh()
    const [oldId, next] = [newId(), newId()]
    const original = aRecord({ userId: 'u2', data: { keep: '"me"' } })
    await store.create(oldId, original)
    const renaming = store.rename(oldId, next, aRecord({ userId: 'u2', data: { other: '1' } }))
    const undoing = store.undoRename(oldId, next) // queued behind the rename, as a timed-out engine asks
    expect(await renaming).toBe(true)
    expect(await undoing).toBe(true)
    expect(await store.get(next)).toBeUndefined()
    expect((await store.get(oldId))?.data).toEqual({ keep: '"me"' })
    expect((await store.listByUser('u2')).map((s) => s.id)).toEqual([oldId])
  })

  it('undoRename of a rename that never applied leaves the old session and says whether it is live', async () => {
    fresh()
    const [oldId, next] = [newId(), newId()]
    expect(await store.undoRename(oldId, next)).toBe(false)
    await store.create(oldId, aRecord())
    expect(await store.undoRename(oldId, next)).toBe(true)
    expect(await store.get(oldId)).toBeDefined()
  })
})
