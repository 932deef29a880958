// What the cookie and the audit trail look like, as ASVS V3.3 and V16.2 ask: over real HTTP against
// every adapter.
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '../conformance/behaviours.js'
import { harnesses } from './harnesses.js'
import { Apps, send, watchUnhandledRejections } from './kit.js'

const unhandled = watchUnhandledRejections()

function sessionSetCookie(res: { headers: Record<string, unknown> }, name = 'sid'): string {
  const line = ([] as string[]).concat((res.headers['set-cookie'] as string[] | undefined) ?? []).find((entry) => entry.startsWith(name + '='))
  expect(line, 'a session Set-Cookie').toBeDefined()
  return line!
}

for (const harness of harnesses) {
  describe(`cookie attributes and audit metadata: ${harness.name}`, () => {
    const apps = new Apps(harness)
    afterEach(async () => {
      await apps.closeAll()
      expect(unhandled()).toEqual([])
    })

    it('default cookie: HttpOnly, SameSite=Lax, Path=/, host-only, non-persistent, under 4096 bytes, value is a seal without the id', async () => {
      const app = await apps.start()
      const client = new Client(app.server)
      const res = await client.get('/count')
      const line = sessionSetCookie(res)
      const [pair, ...attributes] = line.split(/;\s*/)
      expect(attributes).toEqual(['Path=/', 'HttpOnly', 'SameSite=Lax'])
      expect(line).not.toMatch(/Domain=|Max-Age|Expires/i)
      expect(pair!.length).toBeLessThan(4096)
      const id = (await client.get('/id')).body.id as string
      expect(id).toMatch(/^[A-Za-z0-9_-]{24}$/) // 144 random bits
      expect(pair).not.toContain(id)
      // The cookie value travels only in Set-Cookie, never in a body the app did not put it in.
      expect(res.text).not.toContain(pair!.slice(4))
    })

    it("Secure over HTTPS (trusted proxy), and a '__Host-' cookie is accepted with secure 'auto'", async () => {
      const app = await apps.start({ trustedProxies: 1, cookie: { name: '__Host-sid' } })
      const res = await send(app, '/count', undefined, { 'X-Forwarded-Proto': 'https' })
      const line = sessionSetCookie(res, '__Host-sid')
      expect(line).toMatch(/; Secure/)
      expect(line).toMatch(/; Path=\//)
      expect(line).not.toMatch(/Domain=/)
    })

    it('audit events carry when, who, where and what; UTC timestamps; a sessionRef that is stable per session and is not the id', async () => {
      const app = await apps.start({ trustedProxies: 1 })
      const headers = { 'User-Agent': 'AuditTest/1.0', 'X-Forwarded-For': '203.0.113.50' }
      const client = new Client(app.server)
      await client.get('/count', headers)
      await client.post('/login?user=alice', headers)
      const loggedInId = (await client.get('/id', headers)).body.id as string
      await client.post('/regenerate', headers)
      const other = new Client(app.server)
      await other.get('/count', headers)
      const [created, login, renewed, otherCreated] = app.events
      expect(created).toMatchObject({ type: 'session.created', ip: '203.0.113.50', userAgent: 'AuditTest/1.0', method: 'GET', path: '/count' })
      expect(login).toMatchObject({ type: 'session.login', userId: 'alice', ip: '203.0.113.50', method: 'POST', path: '/login' })
      expect(renewed).toMatchObject({ type: 'session.renewed', userId: 'alice' })
      for (const event of app.events) {
        expect(event.at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
        expect(Math.abs(Date.parse(event.at) - Date.now())).toBeLessThan(60_000)
        expect(event.sessionRef).toMatch(/^[A-Za-z0-9_-]{22}$/)
      }
      expect(otherCreated!.sessionRef).not.toBe(created!.sessionRef)
      // The ref is a keyed hash: it never equals or contains the id.
      const text = JSON.stringify(app.events)
      expect(text).not.toContain(loggedInId)
      expect(text).not.toContain(client.cookie!)
      // Request fields are data, never log syntax: quotes and backslashes survive a JSON round trip,
      // and an oversized header is clipped to 512 characters.
      app.events.length = 0
      const hostile = '"}, {"type":"session.login","userId":"admin\\'
      await new Client(app.server).get('/count', { 'User-Agent': hostile + 'x'.repeat(2000) })
      const [event] = app.events
      expect(event!.userAgent!.length).toBe(512)
      expect(event!.userAgent!.startsWith(hostile)).toBe(true)
      expect(JSON.parse(JSON.stringify(event))).toEqual(event)
      const refs = await app.engine.listUserSessions('alice')
      expect(refs.map((entry) => entry.ref)).toEqual([renewed!.sessionRef])
    })
  })
}
