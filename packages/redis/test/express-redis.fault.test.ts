// Redis fails under a running Express app: requests answer 503 with a store.error audit event (never a
// fresh session that would log the user out), the process stays up, and once Redis is back the same
// cookie finds the same session, also after a login that failed during the outage (issue 21 item 1).
// Runs a redis-server of its own (never the shared one).
import { createClient } from 'redis'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisStore } from '@sesame/redis'
import { hasRedis } from '../../../test/support/redis.js'
import { startOwnRedis, type OwnRedis } from './support/redis-server.js'
import { cookieOf, startApp, type RunningApp } from './support/express-app.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(!hasRedis)('Express + redisStore when Redis fails', () => {
  let redis: OwnRedis
  let client: ReturnType<typeof createClient>
  let running: RunningApp
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => void unhandled.push(reason)

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled)
    redis = await startOwnRedis()
    client = createClient({ url: redis.url, socket: { reconnectStrategy: () => 100 } })
    client.on('error', () => {})
    await client.connect()
    running = await startApp(redisStore({ client, commandTimeout: 300 }))
  })
  afterAll(async () => {
    await running.close()
    client.destroy()
    await redis.dispose()
    process.off('unhandledRejection', onUnhandled)
  })

  async function loggedIn(user: string): Promise<string> {
    const cookie = cookieOf(await request(running.server).post(`/login/${user}`).expect(200))!
    await request(running.server).post('/set/cart?value=apple').set('Cookie', cookie).expect(200)
    return cookie
  }

  async function answersAgain(cookie: string): Promise<request.Response> {
    for (let i = 0; i < 100; i++) {
      const res = await request(running.server).get('/data').set('Cookie', cookie)
      if (res.status === 200) return res
      await sleep(100)
    }
    throw new Error('the app never recovered')
  }

  for (const [outage, stop, start] of [
    ['stopped (killed)', () => redis.kill(), () => redis.restart()],
    ['hanging (paused)', async () => redis.pause(), async () => redis.resume()],
  ] as const) {
    it(`answers 503 while Redis is ${outage}, and serves the same session when it is back`, async () => {
      const cookie = await loggedIn('alice')
      running.events.length = 0

      await stop()
      const read = await request(running.server).get('/data').set('Cookie', cookie)
      expect(read.status).toBe(503)
      expect(read.body).toEqual({ code: 'SESSION_STORE_UNAVAILABLE' })
      expect(cookieOf(read)).toBeUndefined()
      const write = await request(running.server).post('/set/during?value=outage').set('Cookie', cookie)
      expect(write.status).toBe(503)
      const fresh = await request(running.server).post('/set/anonymous')
      expect(fresh.status).toBe(503)
      expect(running.events.filter((event) => event.type === 'store.error').length).toBeGreaterThanOrEqual(3)
      expect(running.events.filter((event) => event.type === 'session.created')).toEqual([])
      for (const event of running.events) expect(JSON.stringify(event)).not.toContain(cookie.slice(4))

      await start()
      const back = await answersAgain(cookie)
      expect(back.body).toEqual({ data: { cart: 'apple' }, userId: 'alice', isNew: false })
      expect(unhandled).toEqual([])
    })
  }

  for (const [outage, stop, start] of [
    ['stopped (killed)', () => redis.kill(), () => redis.restart()],
    ['hanging (paused)', async () => redis.pause(), async () => redis.resume()],
  ] as const) {
    it(`keeps the old session, with its data, when a login while Redis is ${outage} answers 503`, async () => {
      const cookie = await loggedIn('bruno')
      running.events.length = 0
      // The session loads while Redis answers; Redis fails while the handler waits; then login().
      const pending = request(running.server).post('/login/bruno?delay=300').set('Cookie', cookie).then((res) => res)
      await sleep(100)
      await stop()
      let login: request.Response
      try {
        login = await pending
      } finally {
        await start()
      }
      expect(login.status).toBe(503)
      expect(cookieOf(login)).toBeUndefined()
      expect(running.events.filter((event) => event.type === 'store.error').map((event) => event.operation)).toContain('rename')
      const back = await answersAgain(cookie)
      expect(back.body).toEqual({ data: { cart: 'apple' }, userId: 'bruno', isNew: false })
      // Once more, now that Redis answers: the login goes through and the old cookie stops working.
      const fresh = cookieOf(await request(running.server).post('/login/bruno').set('Cookie', cookie).expect(200))!
      expect((await request(running.server).get('/data').set('Cookie', fresh).expect(200)).body).toEqual({ data: { cart: 'apple' }, userId: 'bruno', isNew: false })
      expect((await request(running.server).get('/data').set('Cookie', cookie).expect(200)).body).toEqual({ data: {}, userId: null, isNew: true })
      expect(unhandled).toEqual([])
    })
  }
})
