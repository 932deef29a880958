// The behaviours 1-16 of docs/architecture.md ("The behaviours every adapter must show"), written once, run over real HTTP against every adapter's harness.
// A behaviour that passes on one adapter and fails on another is a bug in that adapter.
import type { Server } from 'node:http'
import request, { type Response } from 'supertest'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Engine, memoryStore, storeKey, type AuditEvent, type MemoryStore, type SessionOptions } from '@sesame/core'
import { FaultyStore } from '../support/faulty-store.js'
import { appendingProxy, type AppendingProxy } from './appending-proxy.js'
import type { AppSettings, Harness, RunningApp } from './harness.js'

const SECRET = 'a-test-secret-that-is-long-enough-0001'
const OTHER_SECRET = 'another-apps-secret-long-enough-0000002'

/** A browser in miniature: keeps the session cookie between requests. */
export class Client {
  cookie: string | undefined
  constructor(readonly server: Server, readonly name = 'sid') {}

  async send(method: 'get' | 'post', path: string, headers: Record<string, string> = {}): Promise<Response> {
    const req = request(this.server)[method](path)
    if (this.cookie !== undefined) req.set('Cookie', `${this.name}=${this.cookie}`)
    for (const [key, value] of Object.entries(headers)) req.set(key, value)
    const res = await req
    const value = sessionCookie(res, this.name)
    if (value !== undefined) this.cookie = value.cleared ? undefined : value.value
    return res
  }
  get(path: string, headers?: Record<string, string>) { return this.send('get', path, headers) }
  post(path: string, headers?: Record<string, string>) { return this.send('post', path, headers) }
}

export function setCookies(res: Response): string[] {
  const header = res.headers['set-cookie'] as string[] | string | undefined
  return header === undefined ? [] : Array.isArray(header) ? header : [header]
}

export function sessionCookie(res: Response, name = 'sid'): { value: string; cleared: boolean; raw: string } | undefined {
  const raw = setCookies(res).find((line) => line.startsWith(name + '='))
  if (!raw) return undefined
  const value = raw.slice(name.length + 1).split(';', 1)[0]!
  return { value, cleared: /Max-Age=0/i.test(raw) || value === '', raw }
}

export function runConformance(harness: Harness): void {
  describe(`conformance: ${harness.name}`, () => {
    let app: RunningApp
    let store: MemoryStore
    let events: AuditEvent[]
    const running: RunningApp[] = []

    /** Start an app; `trustedProxies` is set the way its framework's users set it (see harness.ts). */
    async function start({ trustedProxies, ...options }: Partial<SessionOptions> & AppSettings = {}): Promise<RunningApp> {
      const started = await harness.start(
        {
          secret: SECRET,
          store,
          ...options,
          audit: { hooks: [(event) => void events.push(event)], coalesceRejected: 0, ...options.audit },
        },
        { trustedProxies },
      )
      running.push(started)
      return started
    }
    const proxies: AppendingProxy[] = []
    async function behindProxy(app: RunningApp, scheme: 'http' | 'https'): Promise<AppendingProxy> {
      const proxy = await appendingProxy(app.server, scheme)
      proxies.push(proxy)
      return proxy
    }
    const eventsOf = (type: string) => events.filter((event) => event.type === type)

    beforeEach(async () => {
      events = []
      store = memoryStore({ max: 1000 })
      app = await start()
    })
    afterEach(async () => {
      vi.useRealTimers()
      for (const proxy of proxies.splice(0)) await proxy.close()
      for (const started of running.splice(0)) await started.close()
      store.close()
    })

    it('1. no cookie and nothing written: no Set-Cookie, nothing stored', async () => {
      const client = new Client(app.server)
      const res = await client.get('/read')
      expect(res.status).toBe(200)
      expect(setCookies(res)).toEqual([])
      expect(store.size).toBe(0)
      expect(events).toEqual([])
    })

    it('2. first write: one store write, one sealed Set-Cookie that does not contain the id', async () => {
      const faulty = new FaultyStore(store)
      const counting = await start({ store: faulty })
      const client = new Client(counting.server)
      const res = await client.get('/count')
      expect(res.body).toEqual({ n: 1 })
      expect(setCookies(res)).toHaveLength(1)
      expect(faulty.calls.create + faulty.calls.update + faulty.calls.touch).toBe(1)
      expect(store.size).toBe(1)
      const { id } = (await client.get('/id')).body as { id: string }
      expect(client.cookie).toMatch(/^Fe26\.2\*/)
      expect(client.cookie).not.toContain(id)
      expect(sessionCookie(res)!.raw).toMatch(/; Path=\/; HttpOnly; SameSite=Lax$/)
      expect(eventsOf('session.created')).toHaveLength(1)
      // The second request reads the same session and writes only what changed: no new cookie.
      const second = await client.get('/count')
      expect(second.body).toEqual({ n: 2 })
      expect(setCookies(second)).toEqual([])
    })

    it('3. the write is in the store before the response leaves: a redirect target sees it', async () => {
      const client = new Client(app.server)
      const res = await client.get('/redirect')
      expect(res.status).toBe(302)
      expect(client.cookie).toBeDefined()
      const next = await client.get(res.headers.location!)
      expect(next.body.data).toEqual({ flash: 'saved before the redirect' })
    })

    it('4. tampered, truncated, garbage and foreign-key cookies get a fresh session and session.rejected', async () => {
      const owner = new Client(app.server)
      await owner.get('/set?key=secret&value="mine"')
      const elsewhere = memoryStore()
      const good = owner.cookie!
      const parts = good.split('*')
      const flipped = parts.slice()
      flipped[4] = flipped[4]!.slice(0, 5) + (flipped[4]![5] === 'A' ? 'B' : 'A') + flipped[4]!.slice(6)
      const foreign = await start({ secret: { '7': OTHER_SECRET }, store: elsewhere })
      const foreignClient = new Client(foreign.server)
      await foreignClient.get('/count')
      const sameIdOtherSecret = await start({ secret: { k1: OTHER_SECRET }, store: elsewhere })
      const sameIdClient = new Client(sameIdOtherSecret.server)
      await sameIdClient.get('/count')
      const ownIdApp = await start({ secret: { k1: SECRET } })
      const cases: Array<[string, string, string]> = [
        ['tampered', flipped.join('*'), 'tampered'],
        ['truncated mac', good.slice(0, -6), 'tampered'],
        ['truncated parts', good.slice(0, good.length / 2), 'malformed'],
        ['garbage', 'not-a-seal', 'malformed'],
        ['reordered parts', [parts[0], parts[1], parts[3], parts[2], ...parts.slice(4)].join('*'), 'tampered'],
        ['foreign key id', foreignClient.cookie!, 'unknown_key'],
      ]
      for (const [label, cookie, reason] of cases) {
        events = []
        const res = await request(app.server).get('/read').set('Cookie', `sid=${cookie}`)
        expect(res.status, label).toBe(200)
        expect(res.body.isNew, label).toBe(true)
        expect(res.body.data, label).toEqual({})
        expect(sessionCookie(res)?.cleared, `${label}: the dead cookie is cleared`).toBe(true)
        expect(eventsOf('session.rejected').map((event) => event.reason), label).toEqual([reason])
        expect(JSON.stringify(events), label).not.toContain(cookie)
      }
      // Same key id, other secret: the MAC fails.
      events = []
      const res = await request(ownIdApp.server).get('/read').set('Cookie', `sid=${sameIdClient.cookie}`)
      expect(res.body.isNew).toBe(true)
      expect(eventsOf('session.rejected').map((event) => event.reason)).toEqual(['tampered'])
      // Nothing was stored for any of the garbage.
      expect(store.size).toBe(1)
      elsewhere.close()
    })

    it('5. a cookie naming an id the store does not have gets a fresh id; a client-chosen id is never adopted', async () => {
      const elsewhere = memoryStore()
      const other = await start({ store: elsewhere })
      const planted = new Client(other.server)
      await planted.get('/count')
      const plantedId = (await planted.get('/id')).body.id as string
      const client = new Client(app.server)
      client.cookie = planted.cookie
      const res = await client.get('/count')
      expect(res.body).toEqual({ n: 1 })
      expect(eventsOf('session.rejected').map((event) => event.reason)).toEqual(['unknown_session'])
      const newId = (await client.get('/id')).body.id as string
      expect(newId).not.toBe(plantedId)
      expect(await store.get(await storeKey(plantedId))).toBeUndefined()
      elsewhere.close()
    })

    it('6. idle timeout passed: new session, old entry gone, session.expired reason idle', async () => {
      vi.useFakeTimers({ toFake: ['Date'] })
      const own = memoryStore()
      const idle = await start({ idleTimeout: '10m', store: own })
      const client = new Client(idle.server)
      await client.get('/count')
      const oldId = (await client.get('/id')).body.id as string
      vi.setSystemTime(Date.now() + 11 * 60_000)
      const res = await client.get('/read')
      expect(res.body.isNew).toBe(true)
      expect(res.body.data).toEqual({})
      expect(await own.get(oldId)).toBeUndefined()
      expect(own.size).toBe(0)
      expect(eventsOf('session.expired').map((event) => event.reason)).toEqual(['idle'])
      expect(eventsOf('session.rejected')).toEqual([])
      own.close()
    })

    it('7. absolute timeout passed despite continuous activity: new session, reason absolute', async () => {
      vi.useFakeTimers({ toFake: ['Date'] })
      const own = memoryStore()
      const bounded = await start({ idleTimeout: '10m', absoluteTimeout: '30m', store: own })
      const client = new Client(bounded.server)
      await client.get('/count')
      let last = 1
      for (let minute = 5; minute <= 35; minute += 5) {
        vi.setSystemTime(Date.now() + 5 * 60_000)
        last = (await client.get('/count')).body.n
        if (minute < 30) expect(last).toBe(minute / 5 + 1)
      }
      expect(last).toBe(2) // the session restarted after 30 minutes
      expect(eventsOf('session.expired').map((event) => event.reason)).toEqual(['absolute'])
      own.close()
    })

    it('8. capacity reached: least recently used session evicted with session.evicted; its next request is fresh', async () => {
      const small = memoryStore({ max: 3 })
      const capped = await start({ store: small })
      const clients = [0, 1, 2, 3].map(() => new Client(capped.server))
      for (const client of clients.slice(0, 3)) await client.get('/count')
      await clients[1]!.get('/count')
      await clients[2]!.get('/count')
      await clients[3]!.get('/count') // evicts clients[0], the least recently used
      expect(small.size).toBe(3)
      expect(eventsOf('session.evicted')).toHaveLength(1)
      expect(eventsOf('session.evicted')[0]!.reason).toBe('capacity')
      expect((await clients[0]!.get('/count')).body).toEqual({ n: 1 })
      // ...which in turn evicted clients[1]; clients[2] and clients[3] kept theirs.
      expect((await clients[2]!.get('/count')).body).toEqual({ n: 3 })
      expect((await clients[3]!.get('/count')).body).toEqual({ n: 2 })
      small.close()
    })

    it('9. regenerate and login: new id in Set-Cookie, old cookie unusable', async () => {
      for (const action of ['/regenerate', '/login?user=alice']) {
        const client = new Client(app.server)
        await client.get('/set?key=cart&value=[1,2]')
        const oldCookie = client.cookie!
        const oldId = (await client.get('/id')).body.id as string
        const res = await client.post(action)
        expect(sessionCookie(res)?.cleared, action).toBe(false)
        expect(client.cookie, action).not.toBe(oldCookie)
        const after = await client.get('/read')
        expect(after.body.data, action).toEqual({ cart: [1, 2] })
        expect((await client.get('/id')).body.id, action).not.toBe(oldId)
        const replay = await request(app.server).get('/read').set('Cookie', `sid=${oldCookie}`)
        expect(replay.body.isNew, action).toBe(true)
        expect(replay.body.data, action).toEqual({})
      }
      expect(eventsOf('session.login')[0]!.userId).toBe('alice')
    })

    it('10. destroy and logout: store entry gone, clearing cookie sent, replay gets a fresh session', async () => {
      for (const action of ['/destroy', '/logout']) {
        const client = new Client(app.server)
        await client.post('/login?user=bob')
        const cookie = client.cookie!
        const id = (await client.get('/id')).body.id as string
        expect(await store.get(await storeKey(id)), action).toBeDefined()
        const res = await client.post(action)
        const cleared = sessionCookie(res)!
        expect(cleared.cleared, action).toBe(true)
        expect(cleared.raw, action).toMatch(/Path=\//)
        expect(cleared.raw, action).toMatch(/Expires=Thu, 01 Jan 1970/)
        expect(await store.get(await storeKey(id)), action).toBeUndefined()
        const replay = await request(app.server).get('/read').set('Cookie', `sid=${cookie}`)
        expect(replay.body.isNew, action).toBe(true)
        expect(replay.body.data, action).toEqual({})
      }
      expect(eventsOf('session.logout').map((event) => event.userId)).toEqual(['bob'])
      expect(eventsOf('session.destroyed').map((event) => event.userId)).toEqual(['bob'])
    })

    it('11. secret rotation: an older listed secret is accepted and the cookie is re-sealed with the newest', async () => {
      const oldApp = await start({ secret: SECRET })
      const client = new Client(oldApp.server)
      await client.get('/set?key=kept&value=42')
      const oldCookie = client.cookie!
      const rotated = await start({ secret: [OTHER_SECRET, SECRET] })
      const rotatedClient = new Client(rotated.server)
      rotatedClient.cookie = oldCookie
      const res = await rotatedClient.get('/read')
      expect(res.body.data).toEqual({ kept: 42 })
      const resealed = sessionCookie(res)
      expect(resealed?.cleared).toBe(false)
      expect(rotatedClient.cookie).not.toBe(oldCookie)
      const newOnly = await start({ secret: OTHER_SECRET })
      const newClient = new Client(newOnly.server)
      newClient.cookie = rotatedClient.cookie
      expect((await newClient.get('/read')).body.data).toEqual({ kept: 42 })
      // A second request with the re-sealed cookie does not re-seal again.
      expect(sessionCookie(await rotatedClient.get('/read'))).toBeUndefined()
    })

    it('12. two concurrent requests writing different keys: both writes survive', async () => {
      const client = new Client(app.server)
      await client.get('/count')
      await Promise.all([
        client.get('/set?key=a&value=1&delay=40'),
        client.get('/set?key=b&value=2&delay=10'),
      ])
      const res = await client.get('/read')
      expect(res.body.data).toEqual({ n: 1, a: 1, b: 2 })
    })

    it('13. a touch-only request never overwrites a concurrent write, never resurrects a destroyed session', async () => {
      const client = new Client(app.server)
      await client.get('/count')
      const cookie = client.cookie!
      const slowTouch = client.get('/touch?delay=60')
      await client.get('/set?key=x&value="written"')
      await slowTouch
      expect((await client.get('/read')).body.data).toEqual({ n: 1, x: 'written' })

      // Both load the session, then stall; meanwhile the user logs out.
      const slowTouch2 = request(app.server).get('/touch?delay=80').set('Cookie', `sid=${cookie}`).then((res) => res)
      const slowWrite = request(app.server).get('/set?key=late&value=1&delay=80').set('Cookie', `sid=${cookie}`).then((res) => res)
      await new Promise((resolve) => setTimeout(resolve, 30))
      await client.post('/logout')
      const [touched, written] = await Promise.all([slowTouch2, slowWrite])
      expect(sessionCookie(touched)?.cleared).toBe(true)
      expect(sessionCookie(written)?.cleared).toBe(true)
      expect(store.size).toBe(0)
      const replay = await request(app.server).get('/read').set('Cookie', `sid=${cookie}`)
      expect(replay.body.isNew).toBe(true)
    })

    it('14. store failure on read or write: 503 through the error path and store.error, never a fresh session', async () => {
      const faulty = new FaultyStore(store)
      const failing = await start({ store: faulty })
      const client = new Client(failing.server)
      await client.get('/count')
      faulty.fail('get')
      const read = await client.get('/read')
      expect(read.status).toBe(503)
      expect(read.body).toEqual({ code: 'SESSION_STORE_UNAVAILABLE' })
      expect(setCookies(read)).toEqual([])
      faulty.heal()
      faulty.fail('update', 'create')
      const write = await client.get('/count')
      expect(write.status).toBe(503)
      expect(setCookies(write)).toEqual([])
      const fresh = await new Client(failing.server).get('/count')
      expect(fresh.status).toBe(503)
      faulty.heal()
      expect((await client.get('/count')).body).toEqual({ n: 2 })
      const errors = eventsOf('store.error')
      expect(errors.map((event) => event.operation)).toEqual(['get', 'update', 'create'])
      expect(JSON.stringify(errors)).not.toContain(client.cookie!)
    })

    it("15. secure: 'auto' sets Secure only over HTTPS, or X-Forwarded-Proto https from a trusted proxy", async () => {
      const plain = sessionCookie(await new Client(app.server).get('/count'))!.raw
      expect(plain).not.toMatch(/Secure/)
      const spoofed = sessionCookie(await new Client(app.server).get('/count', { 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '203.0.113.9' }))!.raw
      expect(spoofed).not.toMatch(/Secure/)
      expect(eventsOf('session.created').at(-1)!.ip).not.toBe('203.0.113.9')
      const proxied = await start({ trustedProxies: 1 })
      const behindProxy = sessionCookie(await new Client(proxied.server).get('/count', { 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '203.0.113.9' }))!.raw
      expect(behindProxy).toMatch(/; Secure/)
      expect(eventsOf('session.created').at(-1)!.ip).toBe('203.0.113.9')
      const always = await start({ cookie: { secure: true } })
      expect(sessionCookie(await new Client(always.server).get('/count'))!.raw).toMatch(/; Secure/)
      // Browsers drop SameSite=None without Secure: with sameSite 'none', 'auto' is always Secure.
      const crossSite = await start({ cookie: { sameSite: 'none' } })
      const none = sessionCookie(await new Client(crossSite.server).get('/count'))!.raw
      expect(none).toMatch(/; Secure/)
      expect(none).toMatch(/; SameSite=None/)
    })

    it('15a. behind an appending proxy, a client-written X-Forwarded-For never becomes the client address (audit ip, session list, rejectLimit)', async () => {
      const proxied = await start({ trustedProxies: 1, rejectLimit: 5 })
      const tls = await behindProxy(proxied, 'https')
      const client = '127.0.0.5' // the address the proxy sees and appends
      const forged = (i: number) => ({ 'X-Forwarded-For': `198.51.100.${i}` })
      const login = await tls.get('/login?user=mallory', { clientAddress: client, headers: forged(1) })
      expect(login.status).toBe(200)
      const cookieLine = (login.headers['set-cookie'] ?? []).find((line) => line.startsWith('sid='))!
      expect(cookieLine).toMatch(/; Secure/) // the proxy's X-Forwarded-Proto: https is believed
      expect(eventsOf('session.login').at(-1)!.ip).toBe(client)
      const [listed] = await proxied.engine.listUserSessions('mallory')
      expect(listed!.ip).toBe(client)
      // The reject limit counts the real address: a new forged X-Forwarded-For per try does not reset it.
      for (let i = 0; i < 5; i++) expect((await tls.get('/read', { clientAddress: client, headers: { ...forged(10 + i), Cookie: `sid=forged-${i}` } })).status).toBe(200)
      const limited = await tls.get('/read', { clientAddress: client, headers: { ...forged(99), Cookie: 'sid=forged-again' } })
      expect(limited.status).toBe(429)
      const rejected = eventsOf('session.rejected')
      expect(rejected.length).toBeGreaterThanOrEqual(5)
      expect(new Set(rejected.map((event) => event.ip))).toEqual(new Set([client]))
      expect(JSON.stringify(events)).not.toContain('198.51.100.')
      // Another client behind the same proxy is not limited.
      expect((await tls.get('/read', { clientAddress: '127.0.0.6', headers: { Cookie: 'sid=forged' } })).status).toBe(200)
      // A plain-HTTP proxy replaces a client-written X-Forwarded-Proto: https, so no Secure.
      const plainProxy = await behindProxy(proxied, 'http')
      const overHttp = await plainProxy.get('/count', { clientAddress: client, headers: { 'X-Forwarded-Proto': 'https' } })
      expect((overHttp.headers['set-cookie'] ?? []).find((line) => line.startsWith('sid='))).not.toMatch(/Secure/)
    })

    it('16. oversized and malformed cookie headers, duplicate names and non-JSON data: clear errors or a fresh session', async () => {
      const client = new Client(app.server)
      await client.get('/set?key=v&value=1')
      const valid = client.cookie!
      const headers = [
        `sid=${'x'.repeat(10 * 1024)}`,
        `a=1; sid=${'y'.repeat(5000)}`,
        ';;;; = ; sid',
        'sid=%E0%A4%A; other=%%%',
        'sid="unterminated',
        `${'c=1; '.repeat(500)}sid=garbage`,
      ]
      for (const header of headers) {
        const res = await request(app.server).get('/read').set('Cookie', header)
        expect(res.status, header.slice(0, 40)).toBe(200)
        expect(res.body.isNew, header.slice(0, 40)).toBe(true)
      }
      // Duplicate names (e.g. a stale cookie for another path): the one that verifies wins.
      const dup = await request(app.server).get('/read').set('Cookie', `sid=garbage; sid=${valid}`)
      expect(dup.body.data).toEqual({ v: 1 })
      for (const [kind, code] of [['function', 'SESSION_DATA_INVALID'], ['bigint', 'SESSION_DATA_INVALID'], ['cycle', 'SESSION_DATA_INVALID'], ['big', 'SESSION_TOO_LARGE']] as const) {
        const res = await client.get(`/bad?kind=${kind}`)
        expect(res.status, kind).toBe(500)
        expect(res.body, kind).toEqual({ code })
      }
      const reserved = await client.get('/bad?kind=reserved')
      expect(reserved.status).toBe(500)
      expect((await client.get('/read')).body.data).toEqual({ v: 1 })
      expect(store.size).toBe(1)
    })
  })
}

export { Engine }
