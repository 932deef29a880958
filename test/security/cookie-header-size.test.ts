// Issue 24 item 4: a Cookie header over 16 KiB that holds a valid session cookie keeps the session
// (another app on the domain may set large cookies), and garbage of any size stays cheap.
// Node refuses request headers over 16 KiB by default (431), so this server allows 128 KiB, as a
// deployment behind a proxy with large headers would; fetch runtimes (Next, Workers) have no limit.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import express from 'express'
import { session } from '@sesame/express'
import { createEngine, memoryStore, readCookie, type AuditEvent } from '@sesame/core'
import { SECRET } from './kit.js'

interface Answer {
  status: number
  setCookie: string[]
  body: { isNew: boolean; data: Record<string, unknown> }
}

async function get(server: Server, path: string, cookie?: string): Promise<Answer> {
  const { port } = server.address() as AddressInfo
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: cookie ? { cookie } : {} })
  return { status: res.status, setCookie: res.headers.getSetCookie(), body: (await res.json()) as Answer['body'] }
}

describe('Cookie headers over 16 KiB', () => {
  const events: AuditEvent[] = []
  const store = memoryStore()
  const sessions = session({ secret: SECRET, store, audit: { hooks: [(event) => void events.push(event)], coalesceRejected: 0 } })
  const app = express()
  app.use(sessions)
  app.get('/set', (req, res) => {
    req.session.cart = ['apple', 'pear']
    res.json({ isNew: req.session.isNew, data: { ...req.session } })
  })
  app.get('/read', (req, res) => void res.json({ isNew: req.session.isNew, data: { ...req.session } }))
  const server = createServer({ maxHeaderSize: 128 * 1024 }, app)
  let cookie = ''

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const first = await get(server, '/set')
    cookie = first.setCookie[0]!.split(';', 1)[0]!
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await sessions.close()
    store.close()
  })

  it('a 40 KB header of other cookies around a valid session cookie keeps the session, and nothing is cleared', async () => {
    events.length = 0
    const others = Array.from({ length: 10 }, (_, i) => `big${i}=${String(i).repeat(4000)}`)
    for (const header of [[...others, cookie].join('; '), [cookie, ...others].join('; '), [...others.slice(0, 5), cookie, ...others.slice(5)].join('; ')]) {
      expect(header.length).toBeGreaterThan(40_000)
      const res = await get(server, '/read', header)
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ isNew: false, data: { cart: ['apple', 'pear'] } })
      expect(res.setCookie).toEqual([])
    }
    expect(events.filter((event) => event.type === 'session.rejected')).toEqual([])
  })

  it('90 KB of garbage sid cookies: a fresh session, one rejection, the server keeps serving', async () => {
    events.length = 0
    const garbage = Array.from({ length: 6_000 }, (_, i) => `sid=garbage${i}`).join('; ')
    expect(garbage.length).toBeGreaterThan(90_000)
    const res = await get(server, '/read', garbage)
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ isNew: true, data: {} })
    expect(events.filter((event) => event.type === 'session.rejected').map((event) => event.reason)).toEqual(['malformed'])
    expect((await get(server, '/read', cookie)).body.data).toEqual({ cart: ['apple', 'pear'] })
  })
})

describe('the Cookie header scan is bounded (what a fetch runtime may pass: no header limit)', () => {
  it('at most 4 values of our name, each at most 4 KiB, from the first 64 KiB only, whatever the header holds', () => {
    const values = readCookie(`${'sid=x; '.repeat(200_000)}`, 'sid')!
    expect(values).toEqual(['x', 'x', 'x', 'x'])
    expect(readCookie(`sid=${'A'.repeat(10 * 1024)}; sid=ok`, 'sid')).toEqual(['', 'ok'])
    expect(readCookie(`sid=${'A'.repeat(5 * 1024 * 1024)}; sid=beyond-the-scan`, 'sid')).toEqual([''])
    expect(readCookie(`pad=${'p'.repeat(70 * 1024)}; sid=late`, 'sid')).toBeUndefined()
    expect(readCookie(`${'xsid=1;'.repeat(100_000)}`, 'sid')).toBeUndefined()
  })

  it('a 5 MB header through the engine: a fresh session and one malformed rejection, no crash', async () => {
    const events: AuditEvent[] = []
    const store = memoryStore()
    const engine = createEngine({ secret: SECRET, store, audit: { hooks: [(event) => void events.push(event)], coalesceRejected: 0 } })
    for (const header of [`sid=${'A'.repeat(5 * 1024 * 1024)}`, `${'sid=garbage; '.repeat(400_000)}`]) {
      events.length = 0
      const state = await engine.load({ cookie: header, encrypted: false, remoteAddress: '198.51.100.1' })
      expect(state.isNew).toBe(true)
      expect(events.map((event) => [event.type, event.reason])).toEqual([['session.rejected', 'malformed']])
      expect(await engine.commit(state)).toMatch(/^sid=; Expires=Thu, 01 Jan 1970/)
    }
    await engine.close()
    store.close()
  })
})
