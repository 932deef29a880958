// rename/undoRename on a real Redis: the id change of regenerate/login, and its undo when the answer
// never came. Whatever part of a rename has landed when the undo runs (nothing, the new session only,
// or all of it), afterwards exactly one session is alive: the old one, with its data and its place in
// its user's index. The late cases run on a redis-server of the test's own, paused with SIGSTOP.
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SessionStoreUnavailable } from '@sesame/core'
import { redisStore, type RedisStore } from '@sesame/redis'
import { hasRedis } from '../../../test/support/redis.js'
import { aRecord, anUpdate, newId } from '../../../test/support/store-contract.js'
import { connectClient, deleteUnder, keysUnder, uniquePrefix, type TestClient } from './support/redis-fixture.js'
import { startOwnRedis, type OwnRedis } from './support/redis-server.js'
import { retireSession } from '../src/scripts.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(!hasRedis)('redisStore rename and undoRename', () => {
  let client: TestClient
  let store: RedisStore
  const prefix = uniquePrefix('rename')

  beforeAll(async () => {
    client = await connectClient()
    store = redisStore({ client, prefix })
  })
  afterAll(async () => {
    await deleteUnder(client, prefix)
    client.destroy()
  })

  /** The second step of a rename by the store's own script, as a caller whose deadline is `deadlineInMs` away. */
  function retire(oldId: string, newSid: string, deadlineInMs: number): Promise<unknown> {
    const deadline = String(Date.now() + deadlineInMs)
    return client.eval(retireSession.source, { keys: [`${prefix}s:{${oldId}}`, `${prefix}r:{${oldId}}`], arguments: [String(Date.now()), newSid, '600000', deadline, deadline] })
  }

  it('moves the session to the new id, with the new record; the old one is kept retired for a minute only', async () => {
    const [oldId, newSid] = [newId(), newId()]
    await store.create(oldId, aRecord({ data: { cart: '["apple"]' } }))
    const renamed = aRecord({ userId: 'alice', data: { cart: '["apple"]' } })
    expect(await store.rename(oldId, newSid, renamed)).toBe(true)
    expect(await store.get(oldId)).toBeUndefined()
    expect((await store.get(newSid))?.data).toEqual({ cart: '["apple"]' })
    expect((await store.listByUser('alice')).map((s) => s.id)).toEqual([newSid])
    await sleep(50) // the retired copy's life is cut right after the answer, without the caller waiting
    const retired = `${prefix}r:{${oldId}}`
    expect(await client.hGet(retired, 'r:to')).toBe(newSid)
    const ttl = await client.pTTL(retired)
    expect(ttl).toBeGreaterThan(50_000)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })

  it('lets a revoke-all after a rename end the new session and delete the old one\'s retired copy, so no late undo brings it back', async () => {
    const [oldId, newSid] = [newId(), newId()]
    const userId = `user-${oldId}`
    await store.create(oldId, aRecord({ userId }))
    expect(await store.rename(oldId, newSid, aRecord({ userId }))).toBe(true)
    await sleep(50)
    expect((await store.listByUser(userId)).map((s) => s.id)).toEqual([newSid])
    expect(await store.destroyByUser(userId)).toEqual([newSid])
    expect(await client.exists(`${prefix}r:{${oldId}}`)).toBe(0)
    expect(await store.undoRename(oldId, newSid)).toBe(false)
    expect(await store.listByUser(userId)).toEqual([])
  })

  it('returns false and changes nothing when the old session is gone or the new id is taken', async () => {
    const [gone, taken, live, fresh] = [newId(), newId(), newId(), newId()]
    const before = (await keysUnder(client, prefix)).length
    expect(await store.rename(gone, fresh, aRecord())).toBe(false)
    expect(await keysUnder(client, prefix)).toHaveLength(before)

    await store.create(live, aRecord({ data: { mine: '1' } }))
    await store.create(taken, aRecord({ data: { theirs: '1' } }))
    expect(await store.rename(live, taken, aRecord({ data: { mine: '1' } }))).toBe(false)
    expect((await store.get(live))?.data).toEqual({ mine: '1' })
    expect((await store.get(taken))?.data).toEqual({ theirs: '1' })
  })

  it('does not rename a session past its deadline', async () => {
    const [oldId, newSid] = [newId(), newId()]
    const deadline = Date.now() + 200
    await store.create(oldId, aRecord({ expiresAt: deadline }))
    await sleep(deadline - Date.now() + 100)
    expect(await store.rename(oldId, newSid, aRecord())).toBe(false)
    expect(await store.get(newSid)).toBeUndefined()
  })

  it('undoes a rename that fully applied: the old session is back exactly as it was, in its index, and the new one is gone', async () => {
    const [oldId, newSid] = [newId(), newId()]
    const userId = `user-${oldId}`
    const original = aRecord({ userId, data: { cart: '["pear"]' } })
    await store.create(oldId, original)
    const expireTime = await client.pExpireTime(`${prefix}s:{${oldId}}`)
    expect(await store.rename(oldId, newSid, aRecord({ userId: 'someone-else' }))).toBe(true)
    // The answer "never came": the engine sends the undo.
    expect(await store.undoRename(oldId, newSid)).toBe(true)
    expect(await store.get(oldId)).toEqual({ ...original, data: { ...original.data } })
    expect(await client.pExpireTime(`${prefix}s:{${oldId}}`)).toBe(expireTime)
    expect(await store.get(newSid)).toBeUndefined()
    expect((await store.listByUser(userId)).map((s) => s.id)).toEqual([oldId])
    expect(await store.listByUser('someone-else')).toEqual([])
    expect(await store.destroyByUser(userId)).toEqual([oldId])
  })

  it('undoes a rename that never applied as a no-op that says the old session is live', async () => {
    const [oldId, newSid] = [newId(), newId()]
    await store.create(oldId, aRecord({ data: { n: '1' } }))
    expect(await store.undoRename(oldId, newSid)).toBe(true)
    expect((await store.get(oldId))?.data).toEqual({ n: '1' })
    expect(await store.undoRename(newId(), newId())).toBe(false)
  })

  it('never brings the old id back through get() once the rename was answered, even after its deadline', async () => {
    const quick = redisStore({ client, prefix, commandTimeout: 100 })
    const [oldId, newSid] = [newId(), newId()]
    await quick.create(oldId, aRecord())
    expect(await quick.rename(oldId, newSid, aRecord())).toBe(true)
    await sleep(400)
    expect(await quick.get(oldId)).toBeUndefined()
    expect(await quick.get(newSid)).toBeDefined()
  })

  it('brings the old session back on its next get() when its rename was never answered and no undo came (the sender died)', async () => {
    const [oldId, newSid] = [newId(), newId()]
    const original = aRecord({ data: { cart: '["fig"]' } })
    await store.create(oldId, original)
    // What a rename whose answer was lost leaves behind, by the store's own scripts: the new session
    // created, the old one retired by a caller whose deadline is 50 ms away.
    await store.create(newSid, aRecord())
    const [oldKey, retired] = [`${prefix}s:{${oldId}}`, `${prefix}r:{${oldId}}`]
    expect(await retire(oldId, newSid, 50)).toBe('')
    expect(await client.exists(oldKey)).toBe(0)
    // While the caller may still get its answer, nobody can tell whether the session lives: a 503 for
    // every call on it (never "gone", which would clear the client's cookie).
    await expect(store.get(oldId)).rejects.toBeInstanceOf(SessionStoreUnavailable)
    await expect(store.update(oldId, anUpdate({ set: { a: '1' } }))).rejects.toBeInstanceOf(SessionStoreUnavailable)
    await expect(store.touch(oldId, Date.now(), Date.now() + 60_000)).rejects.toBeInstanceOf(SessionStoreUnavailable)
    await sleep(100)
    // Past it, the client certainly still holds the old cookie: its session is served again.
    expect(await store.get(oldId)).toEqual({ ...original, data: { ...original.data } })
    expect(await client.exists(retired)).toBe(0)
    // A late undo still cleans up the new session.
    expect(await store.undoRename(oldId, newSid)).toBe(true)
    expect(await store.get(newSid)).toBeUndefined()
  })

  it('serves the old session to a get() that misses it just before an undo puts it back', async () => {
    // Warm the scripts, so that each command below goes out as one EVALSHA, in this order.
    await store.undoRename(newId(), newId())
    await store.get(newId())
    const [oldId, newSid] = [newId(), newId()]
    await store.create(oldId, aRecord({ data: { kept: '1' } }))
    expect(await store.rename(oldId, newSid, aRecord())).toBe(true)
    // On the one connection: the get's HGETALL (misses), the undo's restore, then the get's second look.
    const [seen, live] = await Promise.all([store.get(oldId), store.undoRename(oldId, newSid)])
    expect(live).toBe(true)
    expect(seen?.data).toEqual({ kept: '1' })
  })

  it('refuses a retire that reaches Redis after its caller\'s deadline (the old session stays, whole)', async () => {
    const [oldId, newSid] = [newId(), newId()]
    await store.create(oldId, aRecord({ data: { kept: '1' } }))
    expect(await retire(oldId, newSid, -1)).toBe(-1)
    expect((await store.get(oldId))?.data).toEqual({ kept: '1' })
    expect(await client.exists(`${prefix}r:{${oldId}}`)).toBe(0)
  })

  for (const how of ['logout (destroy)', 'revokeUserSessions (destroyByUser)'] as const) {
    it(`ends for good a session caught in a rename of unknown outcome by ${how}: no undo or get brings it back`, async () => {
      const [oldId, newSid] = [newId(), newId()]
      const userId = `user-${oldId}`
      await store.create(oldId, aRecord({ userId }))
      await store.create(newSid, aRecord({ userId }))
      await retire(oldId, newSid, 30)
      if (how === 'logout (destroy)') expect(await store.destroy(oldId)).toBe(true)
      else expect((await store.destroyByUser(userId)).sort()).toEqual([oldId, newSid].sort())
      await sleep(80)
      expect(await store.undoRename(oldId, newSid)).toBe(false)
      expect(await store.get(oldId)).toBeUndefined()
      expect(await store.listByUser(userId)).toEqual([])
    })
  }

  it('never brings back an old id that another rename moved on (two logins racing, one undone)', async () => {
    const [oldId, winner, loser] = [newId(), newId(), newId()]
    await store.create(oldId, aRecord())
    expect(await store.rename(oldId, winner, aRecord({ data: { won: '1' } }))).toBe(true)
    expect(await store.rename(oldId, loser, aRecord())).toBe(false)
    expect(await store.undoRename(oldId, loser)).toBe(false)
    expect(await store.get(oldId)).toBeUndefined()
    expect((await store.get(winner))?.data).toEqual({ won: '1' })
  })
})

describe.skipIf(!hasRedis)('redisStore rename arriving late (Redis paused)', () => {
  let redis: OwnRedis
  let client: ReturnType<typeof createClient>
  let store: RedisStore

  beforeAll(async () => {
    redis = await startOwnRedis()
    client = createClient({ url: redis.url, socket: { reconnectStrategy: () => 100 } })
    client.on('error', () => {})
    await client.connect()
    store = redisStore({ client, commandTimeout: 300 })
  })
  afterAll(async () => {
    client.destroy()
    await redis.dispose()
  })

  for (const [what, userId] of [['an anonymous session', undefined], ['a login (index written first)', 'dora']] as const) {
    it(`leaves exactly the old session alive when the rename of ${what} and its undo both land after a pause`, async () => {
      const [oldId, newSid] = [newId(), newId()]
      const before = `before-${oldId}`
      const original = aRecord({ userId: before, data: { cart: '["plum"]' } })
      await store.create(oldId, original)
      redis.pause()
      try {
        await expect(store.rename(oldId, newSid, aRecord({ userId, data: { cart: '["plum"]' } }))).rejects.toBeInstanceOf(SessionStoreUnavailable)
        // The undo's answer is late too, but its commands are on the wire behind the rename's.
        await expect(store.undoRename(oldId, newSid)).rejects.toBeInstanceOf(SessionStoreUnavailable)
      } finally {
        redis.resume()
      }
      await sleep(100)
      expect(await store.get(oldId)).toEqual({ ...original, data: { ...original.data } })
      expect(await store.get(newSid)).toBeUndefined()
      expect((await store.listByUser(before)).map((s) => s.id)).toEqual([oldId])
      if (userId) expect(await store.listByUser(userId)).toEqual([])
    })
  }

  it('delivers an undo sent as the connection drops once Redis is back (sent again if lost with the socket)', async () => {
    const [oldId, newSid] = [newId(), newId()]
    await store.create(oldId, aRecord({ data: { kept: '1' } }))
    // The rename landed, but its answer was lost with the connection.
    expect(await store.rename(oldId, newSid, aRecord())).toBe(true)
    await redis.kill()
    await expect(store.undoRename(oldId, newSid)).rejects.toBeInstanceOf(SessionStoreUnavailable)
    await redis.restart()
    for (let i = 0; i < 50 && !client.isReady; i++) await sleep(100)
    await sleep(200)
    expect((await store.get(oldId))?.data).toEqual({ kept: '1' })
    expect(await store.get(newSid)).toBeUndefined()
  })
})
