// Failures, over real HTTP against every adapter: a store that fails on any operation answers 503
// with a `store.error` event — never a silent fresh session (that would log users out and hide the
// outage), never an unhandled rejection, never two responses on one request. Hooks and sinks that
// throw or hang never affect a request.
import net from 'node:net'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createEngine, memoryStore, type AuditEvent, type LogSink } from '@sesame/core'
import { FaultyStore } from '../support/faulty-store.js'
import { Client } from '../conformance/behaviours.js'
import type { Operation } from '../support/faulty-store.js'
import { harnesses } from './harnesses.js'
import { Apps, SECRET, send, watchUnhandledRejections, type App } from './kit.js'

const unhandled = watchUnhandledRejections()

/**
 * One request on its own connection, read to the end: how many HTTP responses came back on it
 * (a response sent twice would show up as a second status line or a write-after-end error).
 */
function rawRequest(server: Server, method: string, path: string, cookie?: string): Promise<{ responses: number; status: number; text: string }> {
  const { port } = server.address() as AddressInfo
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let text = ''
    socket.setEncoding('latin1')
    socket.setTimeout(5000, () => {
      socket.destroy()
      reject(new Error(`${method} ${path}: no complete response within 5 s (a hang)`))
    })
    socket.on('data', (chunk: string) => (text += chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      const statuses = [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((match) => Number(match[1]))
      resolve({ responses: statuses.length, status: statuses[0] ?? 0, text })
    })
    socket.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${cookie ? `Cookie: sid=${cookie}\r\n` : ''}Content-Length: 0\r\n\r\n`)
  })
}

for (const harness of harnesses) {
  describe(`store failures: ${harness.name}`, () => {
    const apps = new Apps(harness)
    let app: App
    let client: Client
    beforeEach(async () => {
      app = await apps.start()
      client = new Client(app.server)
      await client.post('/login?user=alice')
      await client.get('/set?key=cart&value=[1,2]')
      app.events.length = 0
    })
    afterEach(async () => {
      vi.useRealTimers()
      await apps.closeAll()
      expect(unhandled()).toEqual([])
    })

    /** Fail `operations`, send the request, check the 503 contract, heal, and check the session survived. */
    async function failing(operations: Operation[], method: 'GET' | 'POST', path: string, cookie: string | undefined, operation: string) {
      app.faulty.fail(...operations)
      const res = await rawRequest(app.server, method, path, cookie)
      app.faulty.heal()
      expect(res.responses, `${path}: exactly one response`).toBe(1)
      expect(res.status, path).toBe(503)
      expect(res.text).toContain('SESSION_STORE_UNAVAILABLE')
      // No session cookie was set or cleared: the client keeps the one it has.
      expect(res.text).not.toMatch(/^set-cookie: sid=/im)
      const errors = app.eventsOf('store.error')
      expect(errors.map((event) => event.operation), path).toEqual([operation])
      expect(errors[0]!.error).toBe('ECONNREFUSED')
      expect(JSON.stringify(errors)).not.toContain(client.cookie!)
      app.events.length = 0
    }

    it('get fails: 503, not a fresh session; the session is intact once the store is back', async () => {
      await failing(['get'], 'GET', '/read', client.cookie, 'get')
      expect((await client.get('/read')).body.data).toEqual({ cart: [1, 2] })
    })

    it('create fails (a new session): 503', async () => {
      await failing(['create'], 'GET', '/count', undefined, 'create')
    })

    it('rename fails during login: 503, one store.error, the visitor is not logged in and keeps the old session and cart', async () => {
      const visitor = new Client(app.server)
      await visitor.get('/set?key=cart&value=[3]')
      const sizeBefore = app.store.size
      await failing(['rename'], 'POST', '/login?user=mallory', visitor.cookie, 'rename')
      const read = await visitor.get('/read')
      expect(read.body.isNew).toBe(false)
      expect(read.body.meta.userId).toBeUndefined()
      expect(read.body.data).toEqual({ cart: [3] })
      expect(app.store.size).toBe(sizeBefore)
    })

    it('rename and its undo both fail during login: 503 with both store.errors; the old session is still the one that works', async () => {
      const visitor = new Client(app.server)
      await visitor.get('/set?key=cart&value=[4]')
      app.faulty.fail('rename', 'undoRename')
      const res = await rawRequest(app.server, 'POST', '/login?user=mallory', visitor.cookie)
      app.faulty.heal()
      expect(res.status).toBe(503)
      expect(res.text).not.toMatch(/^set-cookie: sid=/im)
      expect(app.eventsOf('store.error').map((event) => event.operation)).toEqual(['rename', 'undoRename'])
      const read = await visitor.get('/read')
      expect(read.body).toMatchObject({ isNew: false, data: { cart: [4] } })
      expect(read.body.meta.userId).toBeUndefined()
    })

    it('create fails during the login of a visitor without a stored session: 503, nothing stored', async () => {
      const sizeBefore = app.store.size
      await failing(['create'], 'POST', '/login?user=mallory', undefined, 'create')
      expect(app.store.size).toBe(sizeBefore)
    })

    it('update fails: 503, and the write is not half-applied', async () => {
      await failing(['update'], 'GET', '/set?key=cart&value=[9]', client.cookie, 'update')
      expect((await client.get('/read')).body.data).toEqual({ cart: [1, 2] })
    })

    it('touch fails: 503', async () => {
      await failing(['touch'], 'GET', '/touch', client.cookie, 'touch')
      expect((await client.get('/read')).status).toBe(200)
    })

    it('destroy fails (logout, revoke-all): 503 or a typed error; logout can be retried', async () => {
      await failing(['destroy'], 'POST', '/logout', client.cookie, 'destroy')
      // The session was not silently dropped from under the user: it is still there, and logout works now.
      expect((await client.get('/read')).body.meta.userId).toBe('alice')
      expect((await client.post('/logout')).status).toBe(200)
      // Revoking every session of a user (destroyByUser) fails loudly too, with a typed error.
      app.events.length = 0
      app.faulty.fail('destroyByUser')
      await expect(app.engine.revokeUserSessions('alice')).rejects.toMatchObject({ code: 'SESSION_STORE_UNAVAILABLE', status: 503 })
      app.faulty.heal()
      expect(app.eventsOf('store.error').map((event) => event.operation)).toEqual(['destroyByUser'])
    })

    it('every operation failing at once, 200 concurrent requests: all 503, one response each, the server keeps serving', async () => {
      app.faulty.fail('get', 'create', 'update', 'touch', 'rename', 'destroy')
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => rawRequest(app.server, 'GET', i % 2 ? '/count' : '/read', i % 4 < 2 ? client.cookie : undefined)))
      app.faulty.heal()
      for (const res of results) expect(res.responses).toBe(1)
      // Cookie-less reads need no store at all; everything else failed loudly.
      expect(results.filter((res) => res.status === 503).length).toBe(150)
      expect(results.filter((res) => res.status === 200).length).toBe(50)
      expect((await client.get('/read')).body.data).toEqual({ cart: [1, 2] })
    })
  })

  describe(`hooks and sinks that misbehave: ${harness.name}`, () => {
    const apps = new Apps(harness)
    afterEach(async () => {
      await apps.closeAll()
      expect(unhandled()).toEqual([])
    })

    it('a sink whose flush hangs: requests never wait for it', async () => {
      let release!: () => void
      const stuck = new Promise<void>((resolve) => (release = resolve))
      const written: AuditEvent[] = []
      const hangingSink: LogSink = { write: (event) => void written.push(event), flush: () => stuck, close: () => stuck }
      const app = await apps.start({ audit: { sinks: [hangingSink] } })
      const client = new Client(app.server)
      for (let i = 1; i <= 20; i++) expect((await client.get('/count')).body).toEqual({ n: i })
      expect((await client.post('/login?user=alice')).status).toBe(200)
      expect(written.map((event) => event.type)).toEqual(['session.created', 'session.login'])
      // close() waits for the sink (see docs/security.md, "Known limitations"); let it finish.
      release()
    })

    it('a throwing hook, a rejecting hook, a hook that never settles and a throwing sink: every request is served', async () => {
      const reported: string[] = []
      const seen: AuditEvent[] = []
      const throwingSink: LogSink = {
        write() {
          throw new Error('disk full')
        },
        flush: async () => {},
        close: async () => {},
      }
      const app = await apps.start({
        audit: {
          hooks: [
            () => {
              throw new Error('hook bug')
            },
            async () => {
              throw new Error('async hook bug')
            },
            () => new Promise<void>(() => {}),
            (event) => void seen.push(event),
          ],
          sinks: [throwingSink],
          onError: (_error, where) => void reported.push(where),
        },
      })
      const client = new Client(app.server)
      const results = []
      results.push((await client.post('/login?user=alice')).status)
      results.push((await client.get('/count')).status)
      results.push((await send(app, '/read', 'sid=tampered-cookie')).status)
      results.push((await client.post('/logout')).status)
      expect(results).toEqual([200, 200, 200, 200])
      await new Promise((resolve) => setTimeout(resolve, 20))
      // The well-behaved hook still saw every event; each failure was reported, none reached a request.
      expect(seen.map((event) => event.type)).toEqual(['session.login', 'session.rejected', 'session.logout'])
      expect(reported.filter((where) => where === 'hook').length).toBe(6)
      expect(reported.filter((where) => where === 'sink').length).toBe(3)
    })
  })
}

describe('engine: a login() that failed leaves the request as it was', () => {
  const request = (cookie?: string) => ({ cookie, encrypted: false, remoteAddress: '192.0.2.1' })
  const value = (setCookie: string | undefined) => setCookie!.split(';', 1)[0]!

  for (const failing of [['rename'], ['rename', 'undoRename']] as const) {
    it(`${failing.join(' and ')} failing inside login(): login rejects, and a later successful commit is the old session, not logged in`, async () => {
      const store = memoryStore()
      const faulty = new FaultyStore(store)
      const engine = createEngine({ secret: SECRET, store: faulty })
      const first = await engine.load(request())
      first.session.cart = [1]
      const cookie = value(await engine.commit(first))
      const oldId = first.session.id
      const state = await engine.load(request(cookie))
      faulty.fail(...failing)
      await expect(state.session.login('mallory')).rejects.toMatchObject({ code: 'SESSION_STORE_UNAVAILABLE' })
      faulty.heal()
      // The app caught the error and carried on; the store is back by the time the response commits.
      const setCookie = await engine.commit(state)
      expect(setCookie).toBeUndefined()
      const next = await engine.load(request(cookie))
      expect(next.session.meta.userId).toBeUndefined()
      expect(next.session.id).toBe(oldId)
      expect({ ...next.session }).toEqual({ cart: [1] })
      expect(store.listByUser('mallory')).toEqual([])
      expect(store.size).toBe(1)
      await engine.close()
      store.close()
    })
  }
})
