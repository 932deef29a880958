// Cookie attacks over real HTTP, against every adapter. Each attack must end in a fresh session (or
// a 4xx), with the right audit event, no crash, no hang, and no store write for the garbage.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { memoryStore, storeKey } from '@sesame/core'
import { Client } from '../conformance/behaviours.js'
import { harnesses } from './harnesses.js'
import { Apps, OTHER_SECRET, SECRET, SECRET_ID, cookieOf, sealWith, send, watchUnhandledRejections, type App } from './kit.js'

const unhandled = watchUnhandledRejections()

for (const harness of harnesses) {
  describe(`cookie attacks: ${harness.name}`, () => {
    const apps = new Apps(harness)
    let app: App
    /** A logged-in victim whose cookie the attacks start from. */
    let victim: Client
    let good: string
    /** Store writes made while setting up the victim. */
    let baseline: number

    beforeEach(async () => {
      app = await apps.start()
      victim = new Client(app.server)
      await victim.post('/login?user=victim')
      await victim.get('/set?key=secret&value="victim-data"')
      good = victim.cookie!
      baseline = app.writes()
      app.events.length = 0
    })
    afterEach(async () => {
      vi.useRealTimers()
      await apps.closeAll()
      expect(unhandled()).toEqual([])
    })

    /**
     * Send one attack cookie header to /read and check the common promises: a fresh, empty session
     * (or a 4xx), no store write, no cookie value in any event, the server still serving.
     */
    async function attack(header: string, expected: { rejected?: string | null } = {}) {
      const writesBefore = app.writes()
      const sizeBefore = app.store.size
      const res = await send(app, '/read', header)
      if (res.status >= 400) expect(res.status).toBeLessThan(500)
      else {
        expect(res.status).toBe(200)
        expect(res.body.isNew).toBe(true)
        expect(res.body.data).toEqual({})
        // Nothing was written, so no session cookie is set; the dead cookie may only be cleared.
        const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? [])
        for (const line of cookies) expect(line, 'only a clearing cookie').toMatch(/^sid=; .*Max-Age=0/)
      }
      expect(app.writes() - writesBefore, 'no store write for garbage').toBe(0)
      expect(app.store.size).toBe(sizeBefore)
      if (expected.rejected !== undefined) {
        expect(app.eventsOf('session.rejected').map((event) => event.reason)).toEqual(expected.rejected === null ? [] : [expected.rejected])
      }
      const logged = JSON.stringify(app.events)
      for (const value of header.split(/;\s*/).map((pair) => pair.slice(pair.indexOf('=') + 1)).filter((value) => value.length >= 8)) {
        expect(logged.includes(value), 'no cookie value in any audit event').toBe(false)
      }
      // The victim is unaffected by whatever the attacker sent.
      expect((await victim.get('/read')).body.data).toEqual({ secret: 'victim-data' })
      app.events.length = 0
      return res
    }

    it('the victim cookie itself works (the baseline every attack is measured against)', async () => {
      const res = await send(app, '/read', `sid=${good}`)
      expect(res.body.isNew).toBe(false)
      expect(res.body.data).toEqual({ secret: 'victim-data' })
    })

    it('tampered: one character of the encrypted part changed -> tampered', async () => {
      const parts = good.split('*')
      const encrypted = parts[4]!
      parts[4] = encrypted.slice(0, 10) + (encrypted[10] === 'A' ? 'B' : 'A') + encrypted.slice(11)
      await attack(`sid=${parts.join('*')}`, { rejected: 'tampered' })
      // ...and the MAC itself changed.
      const mac = good.split('*')
      mac[7] = mac[7]!.slice(0, -2) + (mac[7]!.endsWith('AA') ? 'BB' : 'AA')
      await attack(`sid=${mac.join('*')}`, { rejected: 'tampered' })
    })

    it('truncated: MAC cut short -> tampered; cut in half -> malformed; empty -> malformed', async () => {
      await attack(`sid=${good.slice(0, -5)}`, { rejected: 'tampered' })
      await attack(`sid=${good.slice(0, Math.floor(good.length / 2))}`, { rejected: 'malformed' })
      await attack('sid=', { rejected: 'malformed' })
    })

    it('re-ordered seal parts (salts, iv, ciphertext swapped) -> tampered', async () => {
      const p = good.split('*')
      const orders = [
        [0, 1, 3, 2, 4, 5, 6, 7], // encryption salt <-> iv
        [0, 1, 6, 3, 4, 5, 2, 7], // encryption salt <-> hmac salt
        [0, 1, 2, 3, 4, 5, 7, 6], // hmac salt <-> hmac
      ]
      for (const order of orders) await attack(`sid=${order.map((i) => p[i]).join('*')}`, { rejected: 'tampered' })
      // Parts reversed: the prefix is no longer first.
      await attack(`sid=${[...p].reverse().join('*')}`, { rejected: 'malformed' })
    })

    it("a seal from another app's secret: same key id -> tampered; that app's own key id -> unknown_key", async () => {
      const victimId = (await victim.get('/id')).body.id as string
      const payload = { sid: victimId, createdAt: Date.now() }
      await attack(`sid=${await sealWith(payload, OTHER_SECRET, SECRET_ID)}`, { rejected: 'tampered' })
      const other = await apps.start({ secret: OTHER_SECRET }, memoryStore())
      const otherClient = new Client(other.server)
      await otherClient.get('/count')
      await attack(`sid=${otherClient.cookie}`, { rejected: 'unknown_key' })
    })

    it('a seal with an unknown key id (right secret, id this app does not list) -> unknown_key', async () => {
      const victimId = (await victim.get('/id')).body.id as string
      for (const id of ['99', 'constructor', '__proto__', 'toString']) {
        await attack(`sid=${await sealWith({ sid: victimId, createdAt: Date.now() }, SECRET, id)}`, { rejected: 'unknown_key' })
      }
    })

    it('a valid seal of a non-session payload ({ foo: 1 }, wrong types, a client-chosen id) is never adopted', async () => {
      for (const payload of [{ foo: 1 }, null, 'a string', [1, 2], { sid: 123, createdAt: 1 }, { sid: 'short', createdAt: 1 }, { sid: 'x'.repeat(30), createdAt: 'yesterday' }]) {
        await attack(`sid=${await sealWith(payload, SECRET)}`, { rejected: 'tampered' })
      }
      // A well-formed payload naming an id the store never issued (a client-chosen id): unknown_session.
      const chosen = 'attacker-chosen-id-000000000001'
      const forged = await sealWith({ sid: chosen, createdAt: Date.now() }, SECRET)
      await attack(`sid=${forged}`, { rejected: 'unknown_session' })
      // Writing with it creates a new id, never the chosen one.
      const written = await send(app, '/count', `sid=${forged}`)
      expect(written.body).toEqual({ n: 1 })
      const newCookie = cookieOf(written)!
      const id = (await send(app, '/id', `sid=${newCookie}`)).body.id as string
      expect(id).not.toBe(chosen)
      expect(await app.store.get(await storeKey(chosen))).toBeUndefined()
    })

    it('the victim id sealed with a different createdAt (a replayed id from before a restart of its life) -> tampered', async () => {
      const victimId = (await victim.get('/id')).body.id as string
      await attack(`sid=${await sealWith({ sid: victimId, createdAt: 1 }, SECRET)}`, { rejected: 'tampered' })
    })

    it('10 KB cookie headers: 10 KB of garbage -> malformed; 10 KB of other cookies beside a valid one -> still that session', async () => {
      await attack(`sid=${'A'.repeat(10 * 1024)}`, { rejected: 'malformed' })
      const padded = await send(app, '/read', `pad=${'p'.repeat(10 * 1024)}; sid=${good}`)
      expect(padded.status).toBe(200)
      expect(padded.body.data).toEqual({ secret: 'victim-data' })
    })

    it("a 1 MB cookie header is refused by Node's header limit (431), and the server keeps serving", async () => {
      const { port } = app.server.address() as AddressInfo
      const status = await new Promise<number | string>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/read', headers: { cookie: `sid=${'B'.repeat(1024 * 1024)}` } }, (res) => {
          res.resume()
          resolve(res.statusCode!)
        })
        req.setTimeout(5000, () => {
          req.destroy()
          resolve('timeout')
        })
        // Node may close the socket while we are still sending the megabyte: that is a refusal too.
        req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'))
      })
      expect([431, 'ECONNRESET', 'EPIPE']).toContain(status)
      expect(app.writes()).toBe(baseline)
      expect(app.events).toEqual([])
      expect((await victim.get('/read')).body.data).toEqual({ secret: 'victim-data' })
    })

    it('500 cookies in one header: 500 others beside a valid one keep the session; 500 garbage sid cookies cost one rejection', async () => {
      const others = Array.from({ length: 500 }, (_, i) => `c${i}=v${i}`).join('; ')
      const res = await send(app, '/read', `${others}; sid=${good}`)
      expect(res.body.data).toEqual({ secret: 'victim-data' })
      await attack(Array.from({ length: 500 }, (_, i) => `sid=garbage${i}`).join('; '), { rejected: 'malformed' })
    })

    it('duplicate names: the first value that verifies wins; two valid cookies never merge; garbage first is skipped', async () => {
      const other = new Client(app.server)
      await other.get('/set?key=secret&value="other-data"')
      const first = await send(app, '/read', `sid=${other.cookie}; sid=${good}`)
      expect(first.body.data).toEqual({ secret: 'other-data' })
      const second = await send(app, '/read', `sid=${good}; sid=${other.cookie}`)
      expect(second.body.data).toEqual({ secret: 'victim-data' })
      const skipped = await send(app, '/read', `sid=garbage; sid=${good}`)
      expect(skipped.body.data).toEqual({ secret: 'victim-data' })
      expect(app.eventsOf('session.rejected')).toEqual([])
      // Only the first few values of our name are tried, so a header cannot make us unseal hundreds.
      await attack(`${'sid=garbage; '.repeat(8)}sid=${good}`, { rejected: 'malformed' })
    })

    it('invalid UTF-8 bytes and broken percent-encoding -> malformed, fresh session', async () => {
      const { port } = app.server.address() as AddressInfo
      // Raw bytes 0xC3 0x28 (invalid UTF-8) and 0xFF sent on the wire as they are.
      const raw = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/read', headers: { cookie: Buffer.from([0x73, 0x69, 0x64, 0x3d, 0xc3, 0x28, 0xff, 0xfe, 0x41]).toString('latin1') } }, (res) => {
          let body = ''
          res.on('data', (chunk) => (body += chunk))
          res.on('end', () => resolve({ status: res.statusCode!, body }))
        })
        req.on('error', reject)
      })
      expect(raw.status).toBe(200)
      expect(JSON.parse(raw.body)).toMatchObject({ isNew: true, data: {} })
      expect(app.eventsOf('session.rejected').map((event) => event.reason)).toEqual(['malformed'])
      app.events.length = 0
      await attack('sid=%E0%A4%A', { rejected: 'malformed' })
      await attack('sid=%%%; x=%ZZ', { rejected: 'malformed' })
      // Our cookie is never percent-encoded; an encoded copy of a valid one is not decoded into it.
      await attack(`sid=${encodeURIComponent(good).replace(/\*/g, '%2A')}`, { rejected: 'malformed' })
      await attack('sid="Fe26.2**"', { rejected: 'malformed' })
    })

    it('a cookie for a destroyed session -> unknown_session, fresh session, and it stays dead', async () => {
      const client = new Client(app.server)
      await client.post('/login?user=leaving')
      const cookie = client.cookie!
      await client.post('/logout')
      app.events.length = 0
      await attack(`sid=${cookie}`, { rejected: 'unknown_session' })
      // Writing with it starts a brand-new session: the old data and user do not come back.
      const res = await send(app, '/count', `sid=${cookie}`)
      expect(res.body).toEqual({ n: 1 })
      const after = await send(app, '/read', `sid=${cookieOf(res)}`)
      expect(after.body.meta.userId).toBeUndefined()
    })

    it("a cookie for another user's expired session -> expired (not rejected), fresh session; replayed again -> unknown_session", async () => {
      vi.useFakeTimers({ toFake: ['Date'] })
      const short = await apps.start({ idleTimeout: '10m' })
      const other = new Client(short.server)
      await other.post('/login?user=other')
      await other.get('/set?key=secret&value="other-data"')
      const cookie = other.cookie!
      vi.setSystemTime(Date.now() + 11 * 60_000)
      const writes = short.writes()
      const res = await send(short, '/read', `sid=${cookie}`)
      expect(res.body).toMatchObject({ isNew: true, data: {} })
      expect(short.eventsOf('session.expired').map((event) => [event.reason, event.userId])).toEqual([['idle', 'other']])
      expect(short.eventsOf('session.rejected')).toEqual([])
      // The only store write is removing the dead record.
      expect(short.writes() - writes).toBeLessThanOrEqual(1)
      expect(short.store.size).toBe(0)
      short.events.length = 0
      const again = await send(short, '/read', `sid=${cookie}`)
      expect(again.body).toMatchObject({ isNew: true, data: {} })
      expect(short.eventsOf('session.rejected').map((event) => event.reason)).toEqual(['unknown_session'])
    })

    it('after a storm of every attack above the server still serves the victim and the store holds only real sessions', async () => {
      const garbage = ['sid=x', `sid=${good.slice(1)}`, `sid=${'C'.repeat(5000)}`, 'sid=Fe26.2*1*2*3*4*5*6*7', `sid=${good}x`]
      await Promise.all(Array.from({ length: 200 }, (_, i) => send(app, '/read', garbage[i % garbage.length])))
      expect(app.writes()).toBe(baseline)
      expect(app.store.size).toBe(1)
      expect((await victim.get('/read')).body.data).toEqual({ secret: 'victim-data' })
      expect(SECRET).not.toBe(OTHER_SECRET)
    })
  })
}
