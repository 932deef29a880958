// failoverStore over a real, killable Redis and a memory fallback: it switches, says so, serves from
// the fallback, ends on Redis every session it ended or could not see during the outage before
// serving from Redis again, and returns to Redis when Redis is back. No logout or revoke made during
// an outage is undone by the return of Redis.
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memoryStore, SessionConfigError, SessionStoreUnavailable } from '@sesame/core'
import { failoverStore, redisStore, SessionInDoubt, type RedisStore } from '@sesame/redis'
import { retireSession } from '../src/scripts.js'
import type { StoreEvent } from '@sesame/core'
import { hasRedis } from '../../../test/support/redis.js'
import { aRecord, anUpdate, newId } from '../../../test/support/store-contract.js'
import { startOwnRedis, type OwnRedis } from './support/redis-server.js'
import { cookieOf, startApp, type RunningApp } from './support/express-app.js'
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
    const seen = newId()
    await store.create(loggedOut, aRecord({ userId: 'alice' }))
    await store.create(survivor, aRecord({ userId: 'bob', data: { kept: '"yes"' } }))
    await store.create(seen, aRecord({ userId: 'bea' }))
    expect(store.state).toBe('primary')

    await redis.kill()
    // The first failing call switches and is answered by the fallback: no error reaches the caller.
    // The fallback does not have this Redis session: the engine will start a fresh one and clear the
    // cookie, so it must not come back with Redis either.
    expect(await store.get(seen)).toBeUndefined()
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
    expect(await store.get(seen)).toBeUndefined()
    // A session nobody used during the outage is still there.
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

  async function backOnPrimary(running: RunningApp): Promise<void> {
    await until(() => running.events.some((event) => event.type === 'store.failover' && event.reason === 'primary'), 'store.failover primary')
  }

  it('keeps an Express app answering through an outage, with store.failover audit events both ways', async () => {
    const running = await startApp(failoverStore(primary, memoryStore(), { probeInterval: 100 }))
    try {
      const cookie = cookieOf(await request(running.server).post('/login/dave').expect(200))!
      const untouched = cookieOf(await request(running.server).post('/login/dan').expect(200))!
      await redis.kill()
      // Served (from the fallback), as a fresh session: the price of availability. The browser is told
      // to drop the cookie, and Redis will agree once it is back.
      const during = await request(running.server).get('/data').set('Cookie', cookie).expect(200)
      expect(during.body).toMatchObject({ userId: null, isNew: true })
      expect(during.headers['set-cookie']?.[0]).toMatch(/^sid=;.*Expires=Thu, 01 Jan 1970/)
      expect(running.events.filter((event) => event.type === 'store.failover').map((event) => event.reason)).toEqual(['fallback'])

      await redis.restart()
      await backOnPrimary(running)
      const after = await request(running.server).get('/data').set('Cookie', cookie).expect(200)
      expect(after.body).toMatchObject({ userId: null, isNew: true })
      // A user who made no request during the outage is still logged in.
      const other = await request(running.server).get('/data').set('Cookie', untouched).expect(200)
      expect(other.body).toMatchObject({ userId: 'dan', isNew: false })
    } finally {
      await running.close()
    }
  })

  it('never undoes a logout made during the outage of a session that lives only in Redis (a copied cookie opens nothing afterwards)', async () => {
    const running = await startApp(failoverStore(primary, memoryStore(), { probeInterval: 100 }))
    try {
      const cookie = cookieOf(await request(running.server).post('/login/lena').expect(200))!
      await request(running.server).post('/set/cart?value=apple').set('Cookie', cookie).expect(200)
      await redis.kill()
      const logout = await request(running.server).post('/logout').set('Cookie', cookie).expect(200)
      expect(logout.headers['set-cookie']?.[0]).toMatch(/^sid=;.*Expires=Thu, 01 Jan 1970/)
      await redis.restart()
      await backOnPrimary(running)
      const replayed = await request(running.server).get('/data').set('Cookie', cookie).expect(200)
      expect(replayed.body).toEqual({ data: {}, userId: null, isNew: true })
      expect(await running.sessions.engine.listUserSessions('lena')).toEqual([])
    } finally {
      await running.close()
    }
  })

  it('never undoes a logout of a session made on the fallback during the outage', async () => {
    const running = await startApp(failoverStore(primary, memoryStore(), { probeInterval: 100 }))
    try {
      await redis.kill()
      const cookie = cookieOf(await request(running.server).post('/login/mona').expect(200))!
      expect((await request(running.server).get('/data').set('Cookie', cookie).expect(200)).body.userId).toBe('mona')
      await request(running.server).post('/logout').set('Cookie', cookie).expect(200)
      expect((await request(running.server).get('/data').set('Cookie', cookie).expect(200)).body.userId).toBeNull()
      await redis.restart()
      await backOnPrimary(running)
      expect((await request(running.server).get('/data').set('Cookie', cookie).expect(200)).body).toMatchObject({ userId: null, isNew: true })
    } finally {
      await running.close()
    }
  })

  it('never undoes revokeUserSessions made during the outage: every revoked cookie opens nothing once Redis is back', async () => {
    const running = await startApp(failoverStore(primary, memoryStore(), { probeInterval: 100 }))
    try {
      const laptop = cookieOf(await request(running.server).post('/login/nina').expect(200))!
      const phone = cookieOf(await request(running.server).post('/login/nina').expect(200))!
      const bystander = cookieOf(await request(running.server).post('/login/omar').expect(200))!
      await redis.kill()
      // Answered by the fallback, which has none of them; the revocation waits for Redis.
      expect(await running.sessions.engine.revokeUserSessions('nina')).toBe(0)
      await redis.restart()
      await backOnPrimary(running)
      for (const cookie of [laptop, phone]) {
        expect((await request(running.server).get('/data').set('Cookie', cookie).expect(200)).body).toMatchObject({ userId: null, isNew: true })
      }
      expect((await request(running.server).get('/data').set('Cookie', bystander).expect(200)).body.userId).toBe('omar')
    } finally {
      await running.close()
    }
  })

  it('answers 503 rather than acknowledge a logout it could not make last (maxPendingRevocations reached)', async () => {
    const store = failoverStore(primary, memoryStore(), { probeInterval: 100, maxPendingRevocations: 1 })
    const running = await startApp(store)
    try {
      const first = cookieOf(await request(running.server).post('/login/pia').expect(200))!
      const second = cookieOf(await request(running.server).post('/login/quin').expect(200))!
      await redis.kill()
      await request(running.server).post('/logout').set('Cookie', first).expect(200)
      const refused = await request(running.server).post('/logout').set('Cookie', second)
      expect(refused.status).toBe(503)
      expect(refused.body).toEqual({ code: 'SESSION_STORE_UNAVAILABLE' })
      await expect(store.destroy(newId())).rejects.toBeInstanceOf(SessionStoreUnavailable)
      await redis.restart()
      await backOnPrimary(running)
      expect((await request(running.server).get('/data').set('Cookie', first).expect(200)).body.userId).toBeNull()
      // Not logged out, and not told it was: the session is still there.
      expect((await request(running.server).get('/data').set('Cookie', second).expect(200)).body.userId).toBe('quin')
    } finally {
      await running.close()
    }
  })

  it('takes back on Redis a rename whose answer never came before answering from the fallback', async () => {
    const store = failoverStore(primary, memoryStore(), { probeInterval: 100 })
    const [oldId, newSid] = [newId(), newId()]
    await store.create(oldId, aRecord({ data: { n: '1' } }))
    redis.pause()
    try {
      // Redis holds the rename; the fallback does not have the old session.
      expect(await store.rename(oldId, newSid, aRecord({ data: { n: '1' } }))).toBe(false)
      expect(store.state).toBe('fallback')
    } finally {
      redis.resume()
    }
    await until(() => store.state === 'primary', 'the switch back to the primary')
    expect(await primary.get(newSid)).toBeUndefined()
    expect(await store.get(newSid)).toBeUndefined()
    await store.close()
  })

  it('does not take a session caught in a rename of unknown outcome for an outage (503, stays on Redis)', async () => {
    const store = failoverStore(primary, memoryStore(), { probeInterval: 100 })
    const [oldId, newSid] = [newId(), newId()]
    await store.create(oldId, aRecord())
    const deadline = String(Date.now() + 10_000)
    await client.eval(retireSession.source, { keys: [`sesame:s:{${oldId}}`, `sesame:r:{${oldId}}`], arguments: [String(Date.now()), newSid, '600000', deadline, deadline] })
    await expect(store.get(oldId)).rejects.toBeInstanceOf(SessionInDoubt)
    expect(store.state).toBe('primary')
    expect(await store.undoRename(oldId, newSid)).toBe(true)
    expect(await store.get(oldId)).toBeDefined()
    await store.close()
  })

  it('refuses stores that are not stores', () => {
    expect(() => failoverStore(primary, {} as never)).toThrow(SessionConfigError)
    expect(() => failoverStore(primary, memoryStore(), { probeInterval: 'never' })).toThrow(/probeInterval/)
  })
})
