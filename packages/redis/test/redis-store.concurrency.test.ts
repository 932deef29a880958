// Races between processes, played with several Redis connections (one store per connection, as
// several app processes would have) against one real Redis server and one real Redis Cluster, through
// node-redis and through ioredis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisStore, type RedisStore } from '@sesame/redis'
import { aRecord, anUpdate, newId } from '../../../test/support/store-contract.js'
import { flavours, type Connection } from './support/cluster-clients.js'
import { uniquePrefix } from './support/redis-fixture.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const PROCESSES = 5

for (const flavour of flavours) describe.skipIf(!flavour.available)(`redisStore under concurrency (${flavour.name})`, () => {
  const prefix = uniquePrefix('concurrency')
  let clients: Connection[]
  let stores: RedisStore[]

  beforeAll(async () => {
    clients = await Promise.all(Array.from({ length: PROCESSES }, () => flavour.connect()))
    stores = clients.map((connection) => redisStore({ client: connection.client, prefix }))
  })
  afterAll(async () => {
    await clients[0]!.deleteUnder(prefix)
    for (const connection of clients) await connection.close()
  })

  const storeFor = (i: number) => stores[i % PROCESSES]!

  it('keeps all 50 keys when 50 concurrent updates from 5 connections each set their own key', async () => {
    const id = newId()
    await stores[0]!.create(id, aRecord({ data: { before: '"kept"' } }))
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => storeFor(i).update(id, anUpdate({ set: { [`key${i}`]: JSON.stringify({ i }) } }))),
    )
    expect(results).toEqual(Array(50).fill(true))
    const data = (await stores[0]!.get(id))!.data
    expect(Object.keys(data).sort()).toEqual(['before', ...Array.from({ length: 50 }, (_, i) => `key${i}`)].sort())
    for (let i = 0; i < 50; i++) expect(JSON.parse(data[`key${i}`]!)).toEqual({ i })
  })

  it('leaves the session gone when a destroy races 20 slow updates (no resurrection)', async () => {
    const userId = `user-${newId()}`
    const id = newId()
    await stores[0]!.create(id, aRecord({ userId }))
    // Twenty requests that read the session, work a while, then write; the logout lands mid-way.
    const slowUpdates = Array.from({ length: 20 }, async (_, i) => {
      await storeFor(i).get(id)
      await sleep(Math.floor(Math.random() * 40))
      return storeFor(i).update(id, anUpdate({ set: { [`late${i}`]: String(i) }, userId }))
    })
    await sleep(15)
    expect(await stores[1]!.destroy(id)).toBe(true)
    await Promise.all(slowUpdates)

    expect(await stores[2]!.get(id)).toBeUndefined()
    expect(await stores[3]!.listByUser(userId)).toEqual([])
    const keys = await clients[0]!.keysUnder(prefix)
    expect(keys.filter((key) => key.includes(id))).toEqual([])
  })

  it('refuses every update that arrives after the destroy', async () => {
    const id = newId()
    await stores[0]!.create(id, aRecord())
    await Promise.all(Array.from({ length: 20 }, (_, i) => storeFor(i).get(id)))
    await stores[4]!.destroy(id)
    const late = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0 ? storeFor(i).update(id, anUpdate({ set: { [`k${i}`]: '1' } })) : storeFor(i).touch(id, Date.now(), Date.now() + 60_000),
      ),
    )
    expect(late).toEqual(Array(20).fill(false))
    expect(await stores[0]!.get(id)).toBeUndefined()
  })

  it('revokes every session of a user while other connections keep writing to them', async () => {
    const userId = `user-${newId()}`
    const ids = Array.from({ length: 10 }, () => newId())
    for (const id of ids) await stores[0]!.create(id, aRecord({ userId }))
    const writes = ids.flatMap((id, i) => [
      storeFor(i).update(id, anUpdate({ set: { busy: '1' } })),
      storeFor(i + 1).touch(id, Date.now(), Date.now() + 60_000),
    ])
    const removed = await stores[2]!.destroyByUser(userId)
    await Promise.all(writes)
    expect(removed.sort()).toEqual([...ids].sort())
    for (const id of ids) expect(await stores[3]!.get(id)).toBeUndefined()
    expect(await stores[4]!.listByUser(userId)).toEqual([])
  })
})
