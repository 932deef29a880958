// The memory store evicts anonymous sessions before logged-in ones: a client that creates sessions
// in a loop (every cookie-less request can) must not be able to log other users out.
import { describe, expect, it } from 'vitest'
import { memoryStore, type SessionRecord, type StoreEvent } from '@sesame/core'

const HOUR = 3_600_000
function record(userId?: string, data: Record<string, string> = { n: '1' }): SessionRecord {
  const now = Date.now()
  return { data, userId, createdAt: now, lastActiveAt: now, expiresAt: now + HOUR, absoluteExpiresAt: now + HOUR }
}
const id = (label: string, i: number) => `${label}-${String(i).padStart(24, '0')}`

describe('memoryStore: anonymous sessions are evicted before user-bound ones', () => {
  it('10,000 anonymous creates into a store of 10 holding 5 logged-in users: every user survives', () => {
    const store = memoryStore({ max: 10 })
    const events: StoreEvent[] = []
    store.subscribe((event) => void events.push(event))
    for (let i = 0; i < 5; i++) expect(store.create(id('user', i), record(`user${i}`))).toBe(true)
    for (let i = 0; i < 10_000; i++) store.create(id('anon', i), record())
    expect(store.size).toBe(10)
    for (let i = 0; i < 5; i++) expect(store.get(id('user', i))?.userId).toBe(`user${i}`)
    // The newest five anonymous sessions hold the rest of the room.
    expect(store.get(id('anon', 9_999))).toBeDefined()
    expect(store.get(id('anon', 9_994))).toBeUndefined()
    expect(events).toHaveLength(10_000 - 5)
    expect(events.every((event) => event.type === 'evicted' && event.record.userId === undefined)).toBe(true)
    expect(store.listByUser('user3').map((entry) => entry.id)).toEqual([id('user', 3)])
    store.close()
  })

  it('a session that logs in (update binds a user) moves to the protected tier; one that is unbound moves back', () => {
    const store = memoryStore({ max: 3 })
    const now = Date.now()
    store.create(id('a', 0), record())
    store.create(id('a', 1), record())
    store.update(id('a', 0), { set: {}, unset: [], userId: 'alice', lastActiveAt: now, expiresAt: now + HOUR })
    for (let i = 0; i < 100; i++) store.create(id('flood', i), record())
    expect(store.get(id('a', 0))?.userId).toBe('alice')
    expect(store.get(id('a', 1))).toBeUndefined()
    expect(store.size).toBe(3)
    // Unbound: an anonymous session again, and the flood pushes it out.
    store.update(id('a', 0), { set: { n: '2' }, unset: [], userId: null, lastActiveAt: now, expiresAt: now + HOUR })
    expect(store.listByUser('alice')).toEqual([])
    expect(store.get(id('a', 0))?.data).toEqual({ n: '2' })
    for (let i = 100; i < 103; i++) store.create(id('flood', i), record())
    expect(store.get(id('a', 0))).toBeUndefined()
    expect(store.size).toBe(3)
    store.close()
  })

  it('only when no anonymous session is left does a user-bound one go, least recently used first', () => {
    const store = memoryStore({ max: 3 })
    const events: StoreEvent[] = []
    store.subscribe((event) => void events.push(event))
    for (let i = 0; i < 3; i++) store.create(id('user', i), record(`user${i}`))
    store.get(id('user', 0)) // user0 is now more recently used than user1
    store.create(id('anon', 0), record())
    expect(store.get(id('user', 1))).toBeUndefined()
    expect(store.get(id('user', 0))).toBeDefined()
    expect(store.get(id('anon', 0))).toBeDefined()
    expect(events.map((event) => [event.type, event.id])).toEqual([['evicted', id('user', 1)]])
    expect(store.listByUser('user1')).toEqual([])
    store.close()
  })

  it('maxBytes: the byte budget is shared too, and anonymous sessions leave first', () => {
    const big = { blob: JSON.stringify('x'.repeat(900)) }
    const store = memoryStore({ max: 1000, maxBytes: 5_000 })
    store.create(id('user', 0), record('alice', big))
    store.create(id('user', 1), record('bob', big))
    for (let i = 0; i < 50; i++) store.create(id('anon', i), record(undefined, big))
    expect(store.get(id('user', 0))).toBeDefined()
    expect(store.get(id('user', 1))).toBeDefined()
    expect(store.get(id('anon', 49))).toBeDefined()
    expect(store.size).toBeLessThanOrEqual(5)
    store.close()
  })

  it('destroy, destroyByUser and expiry work across both tiers', async () => {
    const store = memoryStore({ max: 10, sweepInterval: 10 })
    const expired: string[] = []
    store.subscribe((event) => void (event.type === 'expired' && expired.push(event.id)))
    store.create(id('user', 0), record('alice'))
    store.create(id('user', 1), record('alice'))
    store.create(id('anon', 0), record())
    const now = Date.now()
    store.create(id('short', 0), { ...record('carol'), expiresAt: now + 30 })
    store.create(id('short', 1), { ...record(), expiresAt: now + 30 })
    expect(store.destroyByUser('alice', id('user', 1))).toEqual([id('user', 0)])
    expect(store.destroy(id('anon', 0))).toBe(true)
    expect(store.destroy(id('anon', 0))).toBe(false)
    await new Promise((resolve) => setTimeout(resolve, 120))
    expect(expired.sort()).toEqual([id('short', 0), id('short', 1)])
    expect(store.listByUser('carol')).toEqual([])
    expect(store.size).toBe(1)
    store.close()
  })
})
