// The SessionStore contract (packages/core/src/store.ts) as tests, run against every store:
// packages/core/test/memory-store.contract.test.ts and packages/redis/test/redis-store.contract.test.ts.
// Deadlines are real and short (a few hundred ms) so the same suite works for an in-process store and
// for Redis, whose expiry runs on the server's clock and cannot be faked.

import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createEngine, storeKey, type SessionRecord, type SessionStore, type SessionUpdate } from '@sesame/core'

export interface StoreUnderTest {
  store: SessionStore
  cleanup(): Promise<void>
  /**
   * Optional: every key and value the store holds (for Redis: SCAN of the suite's prefix, each key and
   * the text of its value), so "no raw id at rest" is checked on what is really stored. Without it the
   * check uses the store's public methods.
   */
  storedText?(): Promise<string[]>
}

const HOUR = 3_600_000
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Engine-shaped ids: random, URL-safe. */
export function newId(): string {
  return crypto.randomUUID().replaceAll('-', '') + crypto.randomUUID().replaceAll('-', '')
}

export function aRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now()
  return {
    data: { cart: JSON.stringify(['apple']), theme: JSON.stringify('dark') },
    createdAt: now,
    lastActiveAt: now,
    expiresAt: now + HOUR / 2,
    absoluteExpiresAt: now + 12 * HOUR,
    ip: '203.0.113.7',
    userAgent: 'contract-test/1.0',
    ...overrides,
  }
}

export function anUpdate(overrides: Partial<SessionUpdate> = {}): SessionUpdate {
  const now = Date.now()
  return { set: {}, unset: [], lastActiveAt: now, expiresAt: now + HOUR / 2, ...overrides }
}

/** Compare what a store returned with what was written, ignoring how it spells an absent optional. */
function normalized(record: SessionRecord | undefined) {
  if (!record) return record
  return {
    data: { ...record.data },
    userId: record.userId ?? undefined,
    createdAt: record.createdAt,
    lastActiveAt: record.lastActiveAt,
    expiresAt: record.expiresAt,
    absoluteExpiresAt: record.absoluteExpiresAt,
    ip: record.ip ?? undefined,
    userAgent: record.userAgent ?? undefined,
  }
}

export function runStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`SessionStore contract: ${name}`, () => {
    let subject: StoreUnderTest
    let store: SessionStore

    beforeEach(async () => {
      subject = await makeStore()
      store = subject.store
    })
    afterEach(async () => {
      await subject.cleanup()
    })

    describe('get and create', () => {
      it('returns undefined for an id it has never seen', async () => {
        expect(await store.get(newId())).toBeUndefined()
      })

      it('creates a new session and returns exactly the record written', async () => {
        const id = newId()
        const record = aRecord({ userId: 'user-1' })
        expect(await store.create(id, record)).toBe(true)
        expect(normalized(await store.get(id))).toEqual(normalized(record))
      })

      it('keeps optional fields absent when they were not written', async () => {
        const id = newId()
        const record = aRecord({ ip: undefined, userAgent: undefined, data: {} })
        await store.create(id, record)
        const stored = await store.get(id)
        expect(stored?.userId).toBeUndefined()
        expect(stored?.ip).toBeUndefined()
        expect(stored?.userAgent).toBeUndefined()
        expect(stored?.data).toEqual({})
      })

      it('round-trips awkward keys and values byte for byte', async () => {
        const id = newId()
        const data = {
          'with space': JSON.stringify('x'),
          'colon:key': JSON.stringify({ nested: [1, 2, { deep: null }] }),
          'd:looks-like-a-prefix': JSON.stringify(true),
          'm:createdAt': JSON.stringify('not metadata'),
          'ünïcødé 🍪': JSON.stringify('välue\n"quoted"\u0000nul'),
          big: JSON.stringify('x'.repeat(20_000)),
        }
        await store.create(id, aRecord({ data }))
        expect((await store.get(id))?.data).toEqual(data)
      })

      it('refuses to create over an existing id and changes nothing', async () => {
        const id = newId()
        const original = aRecord({ userId: 'owner' })
        await store.create(id, original)
        expect(await store.create(id, aRecord({ data: { evil: '"1"' }, userId: 'intruder' }))).toBe(false)
        expect(normalized(await store.get(id))).toEqual(normalized(original))
        expect((await store.listByUser('intruder')).map((s) => s.id)).toEqual([])
      })

      it('keeps every key of a session with thousands of them, through create, update and unset', async () => {
        // Stores may batch fields per command (@sesame/redis does, up to a limit): both sides of it.
        for (const count of [300, 4_000]) {
          const id = newId()
          const data: Record<string, string> = {}
          for (let i = 0; i < count; i++) data[`k${i}`] = JSON.stringify(i)
          await store.create(id, aRecord({ data }))
          const set: Record<string, string> = {}
          for (let i = 0; i < count; i++) set[`k${i}`] = JSON.stringify(-i)
          const unset = [`k0`, `k${count - 1}`]
          for (const key of unset) delete set[key]
          expect(await store.update(id, anUpdate({ set, unset }))).toBe(true)
          const stored = (await store.get(id))?.data ?? {}
          expect(Object.keys(stored)).toHaveLength(count - 2)
          expect(stored[`k1`]).toBe('-1')
          expect(stored[`k${count - 2}`]).toBe(String(-(count - 2)))
          expect(stored).not.toHaveProperty('k0')
        }
      })

      it('keeps sessions apart', async () => {
        const a = newId()
        const b = newId()
        await store.create(a, aRecord({ data: { who: '"a"' } }))
        await store.create(b, aRecord({ data: { who: '"b"' } }))
        expect((await store.get(a))?.data).toEqual({ who: '"a"' })
        expect((await store.get(b))?.data).toEqual({ who: '"b"' })
      })
    })

    describe('update', () => {
      it('changes nothing and returns false when the session does not exist', async () => {
        const id = newId()
        expect(await store.update(id, anUpdate({ set: { a: '1' }, userId: 'u' }))).toBe(false)
        expect(await store.get(id)).toBeUndefined()
        expect(await store.listByUser('u')).toEqual([])
      })

      it('never resurrects a destroyed session', async () => {
        const id = newId()
        await store.create(id, aRecord({ userId: 'gone-user' }))
        expect(await store.destroy(id)).toBe(true)
        expect(await store.update(id, anUpdate({ set: { late: '"write"' } }))).toBe(false)
        expect(await store.update(id, anUpdate({ userId: 'gone-user' }))).toBe(false)
        expect(await store.get(id)).toBeUndefined()
        expect(await store.listByUser('gone-user')).toEqual([])
      })

      it('sets only the keys it names and keeps every other key', async () => {
        const id = newId()
        await store.create(id, aRecord({ data: { keep: '"kept"', change: '1' } }))
        expect(await store.update(id, anUpdate({ set: { change: '2', added: '"new"' } }))).toBe(true)
        expect((await store.get(id))?.data).toEqual({ keep: '"kept"', change: '2', added: '"new"' })
      })

      it('lets two updates on different keys both survive (no whole-record overwrite)', async () => {
        const id = newId()
        await store.create(id, aRecord({ data: {} }))
        await Promise.all([store.update(id, anUpdate({ set: { a: '1' } })), store.update(id, anUpdate({ set: { b: '2' } }))])
        expect((await store.get(id))?.data).toEqual({ a: '1', b: '2' })
      })

      it('removes unset keys, ignoring keys that were never there', async () => {
        const id = newId()
        await store.create(id, aRecord({ data: { a: '1', b: '2', c: '3' } }))
        expect(await store.update(id, anUpdate({ unset: ['a', 'c', 'never-there'] }))).toBe(true)
        expect((await store.get(id))?.data).toEqual({ b: '2' })
      })

      it('applies set and unset of different keys together', async () => {
        const id = newId()
        await store.create(id, aRecord({ data: { old: '1' } }))
        await store.update(id, anUpdate({ set: { fresh: '2' }, unset: ['old'] }))
        expect((await store.get(id))?.data).toEqual({ fresh: '2' })
      })

      it('moves lastActiveAt and expiresAt, and keeps createdAt, the absolute deadline, ip and user agent', async () => {
        const id = newId()
        const record = aRecord()
        await store.create(id, record)
        const change = anUpdate({ lastActiveAt: record.lastActiveAt + 5_000, expiresAt: record.expiresAt + 5_000 })
        await store.update(id, change)
        const stored = await store.get(id)
        expect(stored?.lastActiveAt).toBe(change.lastActiveAt)
        expect(stored?.expiresAt).toBe(change.expiresAt)
        expect(stored?.createdAt).toBe(record.createdAt)
        expect(stored?.absoluteExpiresAt).toBe(record.absoluteExpiresAt)
        expect(stored?.ip).toBe(record.ip)
        expect(stored?.userAgent).toBe(record.userAgent)
      })

      it('never moves expiresAt past the absolute deadline', async () => {
        const id = newId()
        const record = aRecord({ absoluteExpiresAt: Date.now() + HOUR })
        await store.create(id, record)
        await store.update(id, anUpdate({ expiresAt: record.absoluteExpiresAt + 10 * HOUR }))
        expect((await store.get(id))?.expiresAt).toBe(record.absoluteExpiresAt)
      })

      it('keeps the bound user when userId is undefined', async () => {
        const id = newId()
        await store.create(id, aRecord({ userId: 'alice' }))
        await store.update(id, anUpdate({ set: { x: '1' } }))
        expect((await store.get(id))?.userId).toBe('alice')
        expect((await store.listByUser('alice')).map((s) => s.id)).toEqual([id])
      })

      it('binds, rebinds and unbinds a user, keeping the per-user index in step', async () => {
        const id = newId()
        await store.create(id, aRecord())
        expect(await store.listByUser('alice')).toEqual([])

        await store.update(id, anUpdate({ userId: 'alice' }))
        expect((await store.get(id))?.userId).toBe('alice')
        expect((await store.listByUser('alice')).map((s) => s.id)).toEqual([id])

        await store.update(id, anUpdate({ userId: 'bob' }))
        expect((await store.get(id))?.userId).toBe('bob')
        expect(await store.listByUser('alice')).toEqual([])
        expect((await store.listByUser('bob')).map((s) => s.id)).toEqual([id])
        expect(await store.destroyByUser('alice')).toEqual([])
        expect(await store.get(id)).toBeDefined()

        await store.update(id, anUpdate({ userId: null }))
        expect((await store.get(id))?.userId).toBeUndefined()
        expect(await store.listByUser('bob')).toEqual([])
        expect(await store.destroyByUser('bob')).toEqual([])
        expect(await store.get(id)).toBeDefined()
      })
    })

    describe('touch', () => {
      it('changes nothing and returns false when the session does not exist', async () => {
        const id = newId()
        expect(await store.touch(id, Date.now(), Date.now() + HOUR)).toBe(false)
        expect(await store.get(id)).toBeUndefined()
      })

      it('never resurrects a destroyed session', async () => {
        const id = newId()
        await store.create(id, aRecord())
        await store.destroy(id)
        expect(await store.touch(id, Date.now(), Date.now() + HOUR)).toBe(false)
        expect(await store.get(id)).toBeUndefined()
      })

      it('moves only the activity time and the deadline', async () => {
        const id = newId()
        const record = aRecord({ userId: 'carol' })
        await store.create(id, record)
        const lastActiveAt = record.lastActiveAt + 1_000
        const expiresAt = record.expiresAt + 1_000
        expect(await store.touch(id, lastActiveAt, expiresAt)).toBe(true)
        expect(normalized(await store.get(id))).toEqual(normalized({ ...record, lastActiveAt, expiresAt }))
      })

      it('never extends expiresAt past the absolute deadline', async () => {
        const id = newId()
        const record = aRecord({ absoluteExpiresAt: Date.now() + HOUR })
        await store.create(id, record)
        await store.touch(id, Date.now(), record.absoluteExpiresAt + HOUR)
        expect((await store.get(id))?.expiresAt).toBe(record.absoluteExpiresAt)
      })

      it('does not outlive the absolute deadline however often it is touched', async () => {
        const id = newId()
        const absoluteExpiresAt = Date.now() + 300
        await store.create(id, aRecord({ expiresAt: absoluteExpiresAt, absoluteExpiresAt }))
        for (let i = 0; i < 3; i++) {
          await store.touch(id, Date.now(), Date.now() + HOUR)
          await sleep(50)
        }
        await sleep(absoluteExpiresAt - Date.now() + 150)
        expect(await store.get(id)).toBeUndefined()
        expect(await store.touch(id, Date.now(), Date.now() + HOUR)).toBe(false)
        expect(await store.get(id)).toBeUndefined()
      })
    })

    describe('destroy', () => {
      it('removes the session and says whether it existed', async () => {
        const id = newId()
        await store.create(id, aRecord())
        expect(await store.destroy(id)).toBe(true)
        expect(await store.get(id)).toBeUndefined()
        expect(await store.destroy(id)).toBe(false)
        expect(await store.destroy(newId())).toBe(false)
      })

      it('removes the session from its user index', async () => {
        const keep = newId()
        const gone = newId()
        await store.create(keep, aRecord({ userId: 'dave' }))
        await store.create(gone, aRecord({ userId: 'dave' }))
        await store.destroy(gone)
        expect((await store.listByUser('dave')).map((s) => s.id)).toEqual([keep])
      })

      it('lets the same id be created again afterwards', async () => {
        const id = newId()
        await store.create(id, aRecord({ data: { v: '1' } }))
        await store.destroy(id)
        expect(await store.create(id, aRecord({ data: { v: '2' } }))).toBe(true)
        expect((await store.get(id))?.data).toEqual({ v: '2' })
      })
    })

    describe('expiry', () => {
      it('drops a session at its expiresAt and keeps one whose deadline is ahead', async () => {
        const short = newId()
        const long = newId()
        const deadline = Date.now() + 300
        await store.create(short, aRecord({ expiresAt: deadline, userId: 'erin' }))
        await store.create(long, aRecord({ userId: 'erin' }))
        await sleep(deadline - Date.now() + 150)
        expect(await store.get(short)).toBeUndefined()
        expect(await store.get(long)).toBeDefined()
        expect((await store.listByUser('erin')).map((s) => s.id)).toEqual([long])
      })

      it('does not update, touch or report an expired session', async () => {
        const id = newId()
        const deadline = Date.now() + 300
        await store.create(id, aRecord({ expiresAt: deadline, userId: 'frank' }))
        await sleep(deadline - Date.now() + 150)
        expect(await store.update(id, anUpdate({ set: { late: '1' } }))).toBe(false)
        expect(await store.touch(id, Date.now(), Date.now() + HOUR)).toBe(false)
        expect(await store.get(id)).toBeUndefined()
        expect(await store.destroyByUser('frank')).toEqual([])
      })

      it('does not report as revoked a session that expired before anyone read it', async () => {
        const expired = newId()
        const live = newId()
        const deadline = Date.now() + 300
        await store.create(expired, aRecord({ expiresAt: deadline, userId: 'gina' }))
        await store.create(live, aRecord({ userId: 'gina' }))
        await sleep(deadline - Date.now() + 150)
        expect(await store.destroyByUser('gina')).toEqual([live])
      })

      it('does not list a session that expired before anyone read it', async () => {
        const expired = newId()
        const deadline = Date.now() + 300
        await store.create(expired, aRecord({ expiresAt: deadline, userId: 'hank' }))
        await sleep(deadline - Date.now() + 150)
        expect(await store.listByUser('hank')).toEqual([])
      })

      it('honours a deadline moved earlier by update', async () => {
        const id = newId()
        await store.create(id, aRecord())
        const deadline = Date.now() + 300
        await store.update(id, anUpdate({ expiresAt: deadline }))
        await sleep(deadline - Date.now() + 150)
        expect(await store.get(id)).toBeUndefined()
      })

      it('keeps a session alive past its first deadline when touched', async () => {
        const id = newId()
        const first = Date.now() + 300
        await store.create(id, aRecord({ expiresAt: first }))
        await store.touch(id, Date.now(), Date.now() + HOUR)
        await sleep(first - Date.now() + 150)
        expect(await store.get(id)).toBeDefined()
      })
    })

    describe('per-user index', () => {
      it("lists every live session of a user with the records written, and no one else's", async () => {
        const ids = [newId(), newId(), newId()]
        const records = ids.map((_, i) => aRecord({ userId: 'grace', data: { n: String(i) } }))
        for (const [i, id] of ids.entries()) await store.create(id, records[i]!)
        await store.create(newId(), aRecord({ userId: 'heidi' }))
        await store.create(newId(), aRecord())
        const listed = await store.listByUser('grace')
        expect(listed.map((s) => s.id).sort()).toEqual([...ids].sort())
        for (const { id, record } of listed) expect(normalized(record)).toEqual(normalized(records[ids.indexOf(id)]))
        expect(await store.listByUser('nobody')).toEqual([])
      })

      it('destroys all of a user’s sessions and returns their ids', async () => {
        const ids = [newId(), newId(), newId()]
        for (const id of ids) await store.create(id, aRecord({ userId: 'ivan' }))
        const other = newId()
        await store.create(other, aRecord({ userId: 'judy' }))
        expect((await store.destroyByUser('ivan')).sort()).toEqual([...ids].sort())
        for (const id of ids) expect(await store.get(id)).toBeUndefined()
        expect(await store.listByUser('ivan')).toEqual([])
        expect(await store.get(other)).toBeDefined()
        expect(await store.destroyByUser('ivan')).toEqual([])
      })

      it('keeps the excepted session (the current one) when destroying the rest', async () => {
        const current = newId()
        const others = [newId(), newId()]
        await store.create(current, aRecord({ userId: 'kim' }))
        for (const id of others) await store.create(id, aRecord({ userId: 'kim' }))
        expect((await store.destroyByUser('kim', current)).sort()).toEqual([...others].sort())
        expect(await store.get(current)).toBeDefined()
        expect((await store.listByUser('kim')).map((s) => s.id)).toEqual([current])
      })

      it('returns [] for a user with no sessions', async () => {
        expect(await store.destroyByUser('nobody-at-all')).toEqual([])
        expect(await store.destroyByUser('nobody-at-all', newId())).toEqual([])
      })

      it('treats user ids as opaque strings', async () => {
        const id = newId()
        const userId = 'ünï {cödé}:*?[x] 🍪'
        await store.create(id, aRecord({ userId }))
        expect((await store.listByUser(userId)).map((s) => s.id)).toEqual([id])
        expect(await store.listByUser('ünï')).toEqual([])
        expect(await store.destroyByUser(userId)).toEqual([id])
      })
    })

    describe('rename (regenerate, login)', () => {
      it('moves the session to the new id in one step, with its data and its user index entry', async () => {
        const oldId = newId()
        const renamed = newId()
        await store.create(oldId, aRecord({ userId: 'lena' }))
        const record = aRecord({ userId: 'lena', data: { cart: JSON.stringify(['apple', 'pear']) } })
        expect(await store.rename(oldId, renamed, record)).toBe(true)
        expect(await store.get(oldId)).toBeUndefined()
        expect(normalized(await store.get(renamed))).toEqual(normalized(record))
        expect((await store.listByUser('lena')).map((s) => s.id)).toEqual([renamed])
        expect(await store.update(oldId, anUpdate({ set: { late: '1' } }))).toBe(false)
      })

      it('binds the user the new record names (login of an anonymous session)', async () => {
        const oldId = newId()
        const renamed = newId()
        await store.create(oldId, aRecord())
        expect(await store.rename(oldId, renamed, aRecord({ userId: 'mona' }))).toBe(true)
        expect((await store.listByUser('mona')).map((s) => s.id)).toEqual([renamed])
        expect((await store.destroyByUser('mona')).length).toBe(1)
        expect(await store.get(renamed)).toBeUndefined()
      })

      it('refuses, changing nothing, when the old session is missing (destroyed, revoked, expired)', async () => {
        const gone = newId()
        const renamed = newId()
        await store.create(gone, aRecord({ userId: 'nina' }))
        await store.destroy(gone)
        expect(await store.rename(gone, renamed, aRecord({ userId: 'nina' }))).toBe(false)
        expect(await store.rename(newId(), renamed, aRecord({ userId: 'nina' }))).toBe(false)
        expect(await store.get(gone)).toBeUndefined()
        expect(await store.get(renamed)).toBeUndefined()
        expect(await store.listByUser('nina')).toEqual([])
      })

      it('refuses, changing nothing, when the new id already exists', async () => {
        const a = newId()
        const b = newId()
        const recordA = aRecord({ userId: 'olga', data: { who: '"a"' } })
        const recordB = aRecord({ data: { who: '"b"' } })
        await store.create(a, recordA)
        await store.create(b, recordB)
        expect(await store.rename(a, b, aRecord({ userId: 'intruder', data: { who: '"moved"' } }))).toBe(false)
        expect(normalized(await store.get(a))).toEqual(normalized(recordA))
        expect(normalized(await store.get(b))).toEqual(normalized(recordB))
        expect(await store.listByUser('intruder')).toEqual([])
      })

      it('undoRename puts the old session back exactly as it was and removes the new one', async () => {
        const oldId = newId()
        const renamed = newId()
        const original = aRecord({ userId: 'pia', data: { cart: JSON.stringify(['apple']) } })
        await store.create(oldId, original)
        expect(await store.rename(oldId, renamed, aRecord({ userId: 'quentin', data: { cart: JSON.stringify(['changed']) } }))).toBe(true)
        expect(await store.undoRename(oldId, renamed)).toBe(true)
        expect(normalized(await store.get(oldId))).toEqual(normalized(original))
        expect(await store.get(renamed)).toBeUndefined()
        expect((await store.listByUser('pia')).map((s) => s.id)).toEqual([oldId])
        expect(await store.listByUser('quentin')).toEqual([])
      })

      it('undoRename of a rename that never happened is a no-op', async () => {
        const oldId = newId()
        const other = newId()
        const original = aRecord({ userId: 'rosa' })
        await store.create(oldId, original)
        await store.create(other, aRecord({ data: { keep: '"me"' } }))
        expect(await store.undoRename(oldId, newId())).toBe(true)
        expect(normalized(await store.get(oldId))).toEqual(normalized(original))
        expect((await store.listByUser('rosa')).map((s) => s.id)).toEqual([oldId])
        expect((await store.get(other))?.data).toEqual({ keep: '"me"' })
        const missing = newId()
        expect(await store.undoRename(missing, newId())).toBe(false)
        expect(await store.get(missing)).toBeUndefined()
      })
    })

    describe('no raw id at rest (the engine keys the store by a hash of the id)', () => {
      it('after a session is created, updated, logged in and listed through the engine, no stored key or value contains its id', async () => {
        const engine = createEngine({ secret: 'store-contract-secret-0123456789abcdef', store })
        const request = (cookie?: string) => ({ cookie, encrypted: false, remoteAddress: '203.0.113.8', userAgent: 'contract/1.0', method: 'GET', path: '/' })
        const cookieOf = (setCookie: string | undefined) => setCookie!.split(';', 1)[0]!
        const userId = `uma-${newId().slice(0, 8)}`

        const created = await engine.load(request())
        created.session.cart = ['apple']
        let cookie = cookieOf(await engine.commit(created))
        const firstId = created.session.id

        const updated = await engine.load(request(cookie))
        expect(updated.isNew).toBe(false)
        ;(updated.session.cart as string[]).push('pear')
        expect(await engine.commit(updated)).toBeUndefined()

        const loggingIn = await engine.load(request(cookie))
        await loggingIn.session.login(userId)
        cookie = cookieOf(await engine.commit(loggingIn))
        const loggedInId = loggingIn.session.id
        expect(loggedInId).not.toBe(firstId)

        const listed = await engine.listUserSessions(userId, { current: loggedInId })
        expect(listed.map((entry) => entry.current)).toEqual([true])
        expect((await engine.load(request(cookie))).session.cart).toEqual(['apple', 'pear'])

        const ids = [firstId, loggedInId]
        // The store knows the session by its key, and only by it.
        const key = await storeKey(loggedInId)
        expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/)
        expect((await store.get(key))?.data).toEqual({ cart: JSON.stringify(['apple', 'pear']) })
        const indexed = await store.listByUser(userId)
        expect(indexed.map((entry) => entry.id)).toEqual([key])
        const stored = subject.storedText ? await subject.storedText() : []
        // The hook sees what is really there: the session's key among it.
        if (subject.storedText) expect(stored.join('\n')).toContain(key)
        const seen: string[] = [JSON.stringify(indexed), JSON.stringify(await store.get(key)), ...stored]
        for (const id of ids) {
          expect(await store.get(id)).toBeUndefined()
          for (const text of seen) expect(text).not.toContain(id)
        }
        expect(JSON.stringify(listed)).not.toContain(loggedInId)
        await engine.close()
      })
    })

    describe('concurrency', () => {
      it('keeps all 50 keys when 50 concurrent updates each set their own key', async () => {
        const id = newId()
        await store.create(id, aRecord({ data: {} }))
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => store.update(id, anUpdate({ set: { [`k${i}`]: String(i) } }))),
        )
        expect(results.every(Boolean)).toBe(true)
        const data = (await store.get(id))?.data ?? {}
        expect(Object.keys(data)).toHaveLength(50)
        for (let i = 0; i < 50; i++) expect(data[`k${i}`]).toBe(String(i))
      })

      it('lets exactly one of many concurrent creates of one id win', async () => {
        const id = newId()
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.create(id, aRecord({ data: { n: String(i) } }))))
        expect(results.filter(Boolean)).toHaveLength(1)
        expect((await store.get(id))?.data).toEqual({ n: String(results.indexOf(true)) })
      })
    })
  })
}
