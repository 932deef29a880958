// Flooding, over real HTTP against every adapter: a client sending thousands of rejected cookies
// produces a count per interval in the audit trail (not a line per request), the opt-in
// `rejectLimit` answers 429, and a loop creating sessions cannot evict logged-in users.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { memoryStore, type AuditEvent } from '@sesame/core'
import { Client } from '../conformance/behaviours.js'
import { harnesses } from './harnesses.js'
import { Apps, SECRET, sealWith, send, watchUnhandledRejections } from './kit.js'

const unhandled = watchUnhandledRejections()

/** Send `count` requests, `parallel` at a time. */
async function flood(count: number, one: (i: number) => Promise<unknown>, parallel = 50): Promise<void> {
  for (let start = 0; start < count; start += parallel) {
    await Promise.all(Array.from({ length: Math.min(parallel, count - start) }, (_, i) => one(start + i)))
  }
}

/** How many rejections a list of (possibly coalesced) events stands for. */
const represented = (events: AuditEvent[]) => events.reduce((sum, event) => sum + (event.count ?? 1), 0)

for (const harness of harnesses) {
  describe(`flooding: ${harness.name}`, () => {
    const apps = new Apps(harness)
    afterEach(async () => {
      vi.useRealTimers()
      await apps.closeAll()
      expect(unhandled()).toEqual([])
    })

    it('3,000 rejected cookies from one client: one event per client per interval, each carrying the count', async () => {
      vi.useFakeTimers({ toFake: ['Date'] })
      const app = await apps.start({ trustedProxies: 1, audit: { coalesceRejected: '1m' } })
      const from = (ip: string) => ({ 'X-Forwarded-For': ip })
      await flood(3000, (i) => send(app, '/read', `sid=garbage-${i}`, from('203.0.113.1')))
      await flood(5, (i) => send(app, '/read', `sid=other-${i}`, from('203.0.113.2')))
      const rejected = () => app.eventsOf('session.rejected')
      // Within the interval: the first rejection of each client is reported, the rest are folded.
      expect(rejected().map((event) => event.ip)).toEqual(['203.0.113.1', '203.0.113.2'])
      // The next interval: its first rejection reports the fold of the previous one (count 2,999).
      vi.setSystemTime(Date.now() + 61_000)
      await send(app, '/read', 'sid=after-the-interval', from('203.0.113.1'))
      expect(rejected().map((event) => [event.ip, event.count])).toEqual([
        ['203.0.113.1', undefined],
        ['203.0.113.2', undefined],
        ['203.0.113.1', 2999],
        ['203.0.113.1', undefined],
      ])
      // Shutdown reports what is still folded: nothing is lost, every rejection is counted once.
      await app.engine.close()
      expect(represented(rejected().filter((event) => event.ip === '203.0.113.1'))).toBe(3001)
      expect(represented(rejected().filter((event) => event.ip === '203.0.113.2'))).toBe(5)
      expect(rejected().length).toBeLessThanOrEqual(5)
      expect(app.writes()).toBe(0)
    }, 60_000)

    it('opt-in rejectLimit: 429 after N rejected cookies per client per minute, other clients unaffected', async () => {
      vi.useFakeTimers({ toFake: ['Date'] })
      const app = await apps.start({ trustedProxies: 1, rejectLimit: 20 })
      const attacker = { 'X-Forwarded-For': '198.51.100.66' }
      const neighbour = { 'X-Forwarded-For': '198.51.100.77' }
      const good = new Client(app.server)
      await good.get('/count', attacker)
      for (let i = 0; i < 20; i++) {
        const res = await send(app, '/read', `sid=forged-${i}`, attacker)
        expect(res.status).toBe(200)
      }
      const limited = await send(app, '/read', 'sid=forged-21', attacker)
      expect(limited.status).toBe(429)
      expect(limited.body).toEqual({ code: 'SESSION_REJECT_LIMIT' })
      expect(limited.headers['set-cookie']).toBeUndefined()
      // While limited, any cookie from that address is refused before any crypto is spent on it...
      await flood(500, (i) => send(app, '/read', `sid=forged-more-${i}`, attacker).expect(429))
      expect((await good.get('/read', attacker)).status).toBe(429)
      // ...but requests without a cookie still work, and other clients are untouched.
      expect((await send(app, '/read', undefined, attacker)).status).toBe(200)
      expect((await send(app, '/read', 'sid=forged', neighbour)).status).toBe(200)
      expect((await good.get('/read', neighbour)).body.data).toEqual({ n: 1 })
      // A minute later the address may try again.
      vi.setSystemTime(Date.now() + 61_000)
      expect((await good.get('/read', attacker)).body.data).toEqual({ n: 1 })
      expect(app.writes()).toBe(2) // the session's creation, and one touch a minute later
      // Genuine cookies of sessions that have ended (after a logout or a restart) are not counted.
      const returning = { 'X-Forwarded-For': '198.51.100.88' }
      for (let i = 0; i < 30; i++) {
        const ended = await sealWith({ sid: `ended-session-id-${String(i).padStart(12, '0')}`, createdAt: Date.now() }, SECRET)
        expect((await send(app, '/read', `sid=${ended}`, returning)).status).toBe(200)
      }
    }, 60_000)

    it('creating sessions in a loop evicts other anonymous sessions, never logged-in users', async () => {
      const store = memoryStore({ max: 50 })
      const app = await apps.start({ store }, store)
      const users = Array.from({ length: 10 }, () => new Client(app.server))
      for (const [i, user] of users.entries()) {
        await user.post(`/login?user=user-${i}`)
        await user.get('/set?key=cart&value=[1,2,3]')
      }
      const anonymous = new Client(app.server)
      await anonymous.get('/count')
      // The flood: 2,000 cookie-less requests, each of which writes and so creates a session.
      await flood(2000, () => send(app, '/count'))
      expect(store.size).toBe(50)
      for (const [i, user] of users.entries()) {
        const read = await user.get('/read')
        expect(read.body.isNew).toBe(false)
        expect(read.body.meta.userId).toBe(`user-${i}`)
        expect(read.body.data).toEqual({ cart: [1, 2, 3] })
      }
      const evicted = app.eventsOf('session.evicted')
      expect(evicted.length).toBe(2000 + 1 - 40)
      expect(evicted.every((event) => event.userId === undefined && event.reason === 'capacity')).toBe(true)
      // The anonymous session from before the flood was the first to go.
      expect((await anonymous.get('/read')).body.isNew).toBe(true)
    }, 60_000)
  })
}
