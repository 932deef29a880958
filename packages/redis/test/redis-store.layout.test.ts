// What redisStore leaves in Redis: one hash per session under a hash tag, expiring `expiredRetention`
// after its deadline (dead, never served, reported as expired when read); one sorted set per user that
// drops dead members and expires with its longest-lived member.
import { createClient, RESP_TYPES } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SessionConfigError, type StoreEvent } from '@sesame/core'
import { redisStore, type RedisStore } from '@sesame/redis'
import { hasRedis, redisUrl } from '../../../test/support/redis.js'
import { aRecord, anUpdate, newId } from '../../../test/support/store-contract.js'
import { connectClient, deleteUnder, keysUnder, uniquePrefix, type TestClient } from './support/redis-fixture.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(!hasRedis)('redisStore key layout and expiry in Redis', () => {
  let client: TestClient
  let store: RedisStore
  const prefix = uniquePrefix('layout')

  beforeAll(async () => {
    client = await connectClient()
    store = redisStore({ client, prefix })
  })
  afterAll(async () => {
    await deleteUnder(client, prefix)
    client.destroy()
  })

  it('keeps a session in one hash, hash-tagged by its id, that Redis expires expiredRetention (1h) after expiresAt', async () => {
    const id = newId()
    const record = aRecord({ data: { cart: '[1]' } })
    await store.create(id, record)
    const key = `${prefix}s:{${id}}`
    const hour = 3_600_000
    expect(await client.type(key)).toBe('hash')
    expect(await client.hGetAll(key)).toMatchObject({ 'd:cart': '[1]', 'm:createdAt': String(record.createdAt), 'm:expiresAt': String(record.expiresAt) })
    expect(await client.pExpireTime(key)).toBe(record.expiresAt + hour)

    const later = anUpdate({ expiresAt: record.expiresAt + 60_000 })
    await store.update(id, later)
    expect(await client.pExpireTime(key)).toBe(later.expiresAt + hour)
    await store.touch(id, Date.now(), record.absoluteExpiresAt + 60_000)
    expect(await client.hGet(key, 'm:expiresAt')).toBe(String(record.absoluteExpiresAt))
    expect(await client.pExpireTime(key)).toBe(record.absoluteExpiresAt + hour)
  })

  it('keeps a dead session for its retention without serving it, and reports it as expired to the first reader only', async () => {
    const events: StoreEvent[] = []
    const other = redisStore({ client, prefix })
    store.subscribe((event) => events.push(event))
    other.subscribe((event) => events.push(event))
    const id = newId()
    const userId = `user-${id}`
    const deadline = Date.now() + 300
    const record = aRecord({ userId, expiresAt: deadline })
    await store.create(id, record)
    await sleep(deadline - Date.now() + 100)
    const key = `${prefix}s:{${id}}`
    expect(await client.exists(key)).toBe(1)
    expect(await store.update(id, anUpdate({ set: { late: '1' } }))).toBe(false)
    expect(await store.touch(id, Date.now(), Date.now() + 60_000)).toBe(false)
    expect(await store.listByUser(userId)).toEqual([])
    // Two processes read it at once: one of them reports it, then it is gone.
    expect(await Promise.all([store.get(id), other.get(id)])).toEqual([undefined, undefined])
    expect(events).toEqual([{ type: 'expired', id, record: { ...record, data: { ...record.data } } }])
    expect(await client.exists(key)).toBe(0)
    expect(await client.zRange(`${prefix}u:{${userId}}`, 0, -1)).toEqual([])
    expect(await store.get(id)).toBeUndefined()
    expect(events).toHaveLength(1)
  })

  it('lets the id of a dead session be created again (it replaces the dead hash)', async () => {
    const id = newId()
    const deadline = Date.now() + 200
    await store.create(id, aRecord({ expiresAt: deadline, data: { old: '1' } }))
    await sleep(deadline - Date.now() + 100)
    expect(await store.create(id, aRecord({ data: { fresh: '1' } }))).toBe(true)
    expect((await store.get(id))?.data).toEqual({ fresh: '1' })
  })

  it("indexes a user's sessions in a sorted set that expires with its longest-lived member", async () => {
    const userId = `user-${newId()}`
    const first = aRecord({ userId })
    const second = aRecord({ userId, absoluteExpiresAt: first.absoluteExpiresAt + 60_000 })
    const [a, b] = [newId(), newId()]
    await store.create(a, first)
    await store.create(b, second)
    const indexKey = `${prefix}u:{${userId}}`
    expect(await client.type(indexKey)).toBe('zset')
    expect(await client.zRangeWithScores(indexKey, 0, -1)).toEqual([
      { value: a, score: first.absoluteExpiresAt },
      { value: b, score: second.absoluteExpiresAt },
    ])
    expect(await client.pExpireTime(indexKey)).toBe(second.absoluteExpiresAt)
    await store.destroy(b)
    expect(await client.zRange(indexKey, 0, -1)).toEqual([a])
  })

  it('prunes members past their absolute deadline, and the index disappears with its last session', async () => {
    const store = redisStore({ client, prefix, expiredRetention: 0 })
    const userId = `user-${newId()}`
    const indexKey = `${prefix}u:{${userId}}`
    const deadline = Date.now() + 300
    const dead = newId()
    await store.create(dead, aRecord({ userId, expiresAt: deadline, absoluteExpiresAt: deadline }))
    await sleep(deadline - Date.now() + 150)
    // The session and the whole index are gone without any sweep of ours.
    expect(await client.exists([`${prefix}s:{${dead}}`, indexKey])).toBe(0)

    const older = newId()
    const olderDeadline = Date.now() + 300
    await store.create(older, aRecord({ userId, expiresAt: olderDeadline, absoluteExpiresAt: olderDeadline }))
    const live = newId()
    await store.create(live, aRecord({ userId }))
    await sleep(olderDeadline - Date.now() + 150)
    expect((await store.listByUser(userId)).map((s) => s.id)).toEqual([live])
    expect(await client.zRange(indexKey, 0, -1)).toEqual([live])
  })

  it('writes no key when an operation finds no session', async () => {
    const before = (await keysUnder(client, prefix)).length
    const id = newId()
    await store.update(id, anUpdate({ set: { a: '1' }, userId: 'someone' }))
    await store.touch(id, Date.now(), Date.now() + 60_000)
    await store.destroy(id)
    expect((await keysUnder(client, prefix)).length).toBe(before)
  })

  it("reads the same records through a client with RESP3 and its own type mapping (Buffers, Maps)", async () => {
    const odd = createClient({
      url: redisUrl,
      RESP: 3,
      commandOptions: { typeMapping: { [RESP_TYPES.MAP]: Map, [RESP_TYPES.BLOB_STRING]: Buffer } },
    })
    odd.on('error', () => {})
    await odd.connect()
    try {
      const oddStore = redisStore({ client: odd, prefix })
      const id = newId()
      const record = aRecord({ userId: `user-${id}` })
      await oddStore.create(id, record)
      expect((await oddStore.get(id))?.data).toEqual(record.data)
      expect((await oddStore.listByUser(record.userId!)).map((s) => s.record.userId)).toEqual([record.userId])
      expect(await oddStore.destroyByUser(record.userId!)).toEqual([id])
    } finally {
      odd.destroy()
    }
  })

  it('refuses bad options at start-up with a clear error', () => {
    expect(() => redisStore({} as never)).toThrow(SessionConfigError)
    expect(() => redisStore({ client, prefix: 'app:{x}:' })).toThrow(/prefix/)
    expect(() => redisStore({ client, commandTimeout: 'soon' })).toThrow(/commandTimeout/)
    expect(() => redisStore({ client, commandTimeout: 0 })).toThrow(/commandTimeout/)
    expect(() => redisStore({ client, expiredRetention: -1 })).toThrow(/expiredRetention/)
    expect(() => redisStore({ client, expiredRetention: 'a while' })).toThrow(/expiredRetention/)
  })
})
