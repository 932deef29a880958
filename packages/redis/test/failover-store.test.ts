// failoverStore over a real, killable Redis and a memory fallback: it switches, says so, serves from
// the fallback, replays logouts made during the outage, and returns to Redis when Redis is back.
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memoryStore, SessionConfigError } from '@sesame/core'
import { failoverStore, redisStore, type RedisStore } from '@sesame/redis'
import type { StoreEvent } from '@sesame/core'
import { hasRedis } from '../../../test/support/redis.js'
import { aRecord, anUpdate, newId } from '../../../test/support/store-contract.js'
import { startOwnRedis, type OwnRedis } from './support/redis-server.js'
import { cookieOf, startApp } from './support/express-app.js'
import request from 'supertest'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until(condition: () => boolean, what: string, tries = 100): Promise<void> {
  for (let i = 0; i < tries && !condition(); i++) await sleep(100)
  if (!condition()) throw new Error(`timed out waiting for ${what}`)
}

describe.skipIf(!hasRedis)('failoverStore(redisStore, memoryStore)', () => {
  let redis: OwnRedis
  let client: ReturnType<typeof createClient>
  let primary: RedisStore

  beforeAll(async () => {
    redis = await startOwnRedis()
    client = createClient({ url: redis.url, socket: { reconnectStrategy: () => 100 } })
    client.on('error', () => {})
    await client.connect()
    primary = redisStore({ client, commandTimeout: 300 })
  })
  afterAll(async () => {
    client.destroy()
    await redis.dispose()
  })

  it('serves from the fallback while Redis is down, reports both switches, and replays logouts on recovery', async () => {
    const fallback = memoryStore()
    const store = failoverStore(primary, fallback, { probeInterval: 100 })
    const events: StoreEvent[] = []
    store.subscribe((event) => events.push(event))

    const loggedOut = newId()
    const survivor = newId()
    await store.create(loggedOut, aRecord({ userId: 'alice' }))
    await store.create(survivor, aRecord({ userId: 'bob', data: { kept: '"yes"' } }))
    expect(store.state).toBe('primary')

    await redis.kill()
    // The first failing call switches and is answered by the fallback: no error reaches the caller.
    expect(await store.get(survivor)).toBeUndefined()
    expect(store.state).toBe('fallback')
    expect(events).toEqual([{ type: 'failover', state: 'fallback' }])

    // New sessions work during the outage (they live in this process only).
    const duringOutage = newId()
    expect(await store.create(duringOutage, aRecord({ data: { n: '1' } }))).toBe(true)
    expect(await store.update(duringOutage, anUpdate({ set: { n: '2' } }))).toBe(true)
    expect((await store.get(duringOutage))?.data).toEqual({ n: '2' })
    // A logout of a Redis-held session during the outage must not be undone when Redis returns.
    await store.destroy(loggedOut)

    await redis.restart()
    await until(() => store.state === 'primary', 'the switch back to the primary')
    expect(events.at(-1)).toEqual({ type: 'failover', state: 'primary' })
    expect(events.filter((event) => event.type === 'failover')).toHaveLength(2)

    expect(await store.get(loggedOut)).toBeUndefined()
    expect((await store.get(survivor))?.data).toEqual({ kept: '"yes"' })
    // The price: sessions created during the outage are not in Redis.
    expect(await store.get(duringOutage)).toBeUndefined()
    await store.close()
  })

  it("replays a revoke-all-for-user made during the outage before going back", async () => {
    const store = failoverStore(primary, memoryStore(), { probeInterval: 100 })
    const ids = [newId(), newId()]
    for (const id of ids) await store.create(id, aRecord({ userId: 'carol' }))
    await redis.kill()
    expect(await store.destroyByUser('carol')).toEqual([])
    expect(store.state).toBe('fallback')
    await redis.restart()
    await until(() => store.state === 'primary', 'the switch back to the primary')
    expect(await store.listByUser('carol')).toEqual([])
    for (const id of ids) expect(await store.get(id)).toBeUndefined()
    await store.close()
  })

  it('keeps an Express app answering through an outage, with store.failover audit events both ways', async () => {
    const running = await startApp(failoverStore(primary, memoryStore(), { probeInterval: 100 }))
    try {
      const cookie = cookieOf(await request(running.server).post('/login/dave').expect(200))!
      await redis.kill()
      // Served (from the fallback), as a fresh session: the price of availability.
      const during = await request(running.server).get('/data').set('Cookie', cookie).expect(200)
      expect(during.body.userId).toBeNull()
      expect(running.events.filter((event) => event.type === 'store.failover').map((event) => event.reason)).toEqual(['fallback'])

      await redis.restart()
      await until(() => running.events.some((event) => event.type === 'store.failover' && event.reason === 'primary'), 'store.failover primary')
      const after = await request(running.server).get('/data').set('Cookie', cookie).expect(200)
      expect(after.body.userId).toBe('dave')
    } finally {
      await running.close()
    }
  })

  it('refuses stores that are not stores', () => {
    expect(() => failoverStore(primary, {} as never)).toThrow(SessionConfigError)
    expect(() => failoverStore(primary, memoryStore(), { probeInterval: 'never' })).toThrow(/probeInterval/)
  })
})
