// Express + sesame + redisStore over real HTTP: concurrent requests on one session lose no write,
// a request still running when the user logs out cannot bring the session back, and an idle timeout
// is audited as an expiry, not as a forged cookie.
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisStore } from '@sesame/redis'
import { hasRedis } from '../../../test/support/redis.js'
import { connectClient, deleteUnder, keysUnder, uniquePrefix, type TestClient } from './support/redis-fixture.js'
import { cookieOf, startApp, type RunningApp } from './support/express-app.js'

describe.skipIf(!hasRedis)('Express + redisStore over HTTP', () => {
  const prefix = uniquePrefix('http')
  let client: TestClient
  let running: RunningApp

  beforeAll(async () => {
    client = await connectClient()
    running = await startApp(redisStore({ client, prefix }))
  })
  afterAll(async () => {
    await running.close()
    await deleteUnder(client, prefix)
    client.destroy()
  })

  it('keeps all 50 keys when 50 concurrent requests on one session each set their own key', async () => {
    const first = await request(running.server).post('/set/seed').expect(200)
    const cookie = cookieOf(first)!
    expect(cookie).toBeDefined()

    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => request(running.server).post(`/set/key${i}?value=${i}`).set('Cookie', cookie)),
    )
    expect(responses.map((res) => res.status)).toEqual(Array(50).fill(200))

    const { body } = await request(running.server).get('/data').set('Cookie', cookie).expect(200)
    const expected: Record<string, unknown> = { seed: true }
    for (let i = 0; i < 50; i++) expected[`key${i}`] = String(i)
    expect(body.data).toEqual(expected)
  })

  it('does not let slow requests resurrect a session logged out while they ran', async () => {
    const login = await request(running.server).post('/login/alice').expect(200)
    const cookie = cookieOf(login)!
    const slow = Array.from({ length: 20 }, (_, i) =>
      request(running.server).post(`/set/late${i}?delay=${50 + i * 5}`).set('Cookie', cookie),
    )
    await new Promise((resolve) => setTimeout(resolve, 20))
    await request(running.server).post('/logout').set('Cookie', cookie).expect(200)
    const slowResponses = await Promise.all(slow)

    const after = await request(running.server).get('/data').set('Cookie', cookie).expect(200)
    expect(after.body).toEqual({ data: {}, userId: null, isNew: true })
    expect(await running.sessions.engine.listUserSessions('alice')).toEqual([])
    // A slow request may only have written into a fresh session of its own (one that arrived after
    // the logout and got a new cookie); none wrote into the logged-out session or bound alice again.
    const freshSessions = slowResponses.filter((res) => {
      const issued = cookieOf(res)
      return issued !== undefined && issued !== cookie
    }).length
    let sessionsWithLateKeys = 0
    for (const key of await keysUnder(client, `${prefix}s:`)) {
      const fields = await client.hGetAll(key)
      expect(fields['m:userId']).toBeUndefined()
      if (Object.keys(fields).some((field) => field.startsWith('d:late'))) sessionsWithLateKeys++
    }
    expect(sessionsWithLateKeys).toBe(freshSessions)
  })

  it('audits a session past its idle timeout as session.expired (idle), never as session.rejected', async () => {
    const idle = await startApp(redisStore({ client, prefix }), { idleTimeout: 300 })
    try {
      const cookie = cookieOf(await request(idle.server).post('/login/erin').expect(200))!
      await request(idle.server).post('/set/cart?value=apple').set('Cookie', cookie).expect(200)
      await new Promise((resolve) => setTimeout(resolve, 450))
      idle.events.length = 0
      const after = await request(idle.server).get('/data').set('Cookie', cookie).expect(200)
      expect(after.body).toEqual({ data: {}, userId: null, isNew: true })
      expect(after.headers['set-cookie']?.[0]).toMatch(/^sid=;.*Expires=Thu, 01 Jan 1970/)
      expect(idle.events.map((event) => [event.type, event.reason])).toEqual([['session.expired', 'idle']])
      expect(idle.events[0]!.userId).toBe('erin')
      // The same cookie again: the session is gone for good now (not reported twice).
      await request(idle.server).get('/data').set('Cookie', cookie).expect(200)
      expect(idle.events.filter((event) => event.type === 'session.expired')).toHaveLength(1)
      expect(await idle.sessions.engine.listUserSessions('erin')).toEqual([])
    } finally {
      await idle.close()
    }
  })
})
