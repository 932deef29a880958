// Session fixation and prototype pollution, over real HTTP against every adapter.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { storeKey, type SessionRecord } from '@sesame/core'
import { Client } from '../conformance/behaviours.js'
import { harnesses } from './harnesses.js'
import { Apps, SECRET, cookieOf, sealWith, send, watchUnhandledRejections, type App } from './kit.js'

const unhandled = watchUnhandledRejections()
const HOUR = 3_600_000

function prototypeIsClean(): void {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  expect(Object.prototype).not.toHaveProperty('polluted')
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted')
}

for (const harness of harnesses) {
  describe(`session fixation: ${harness.name}`, () => {
    const apps = new Apps(harness)
    let app: App
    beforeEach(async () => {
      app = await apps.start()
    })
    afterEach(async () => {
      await apps.closeAll()
      expect(unhandled()).toEqual([])
    })

    it("an id planted before login is not the id after login(), and the planted cookie is dead afterwards", async () => {
      // The attacker gets a genuine anonymous session and plants its cookie in the victim's browser.
      const attacker = new Client(app.server)
      await attacker.get('/set?key=planted&value=true')
      const plantedCookie = attacker.cookie!
      const plantedId = (await attacker.get('/id')).body.id as string
      const victim = new Client(app.server)
      victim.cookie = plantedCookie
      const login = await victim.post('/login?user=victim')
      expect(login.status).toBe(200)
      expect(victim.cookie).not.toBe(plantedCookie)
      const victimId = (await victim.get('/id')).body.id as string
      expect(victimId).not.toBe(plantedId)
      expect(await app.store.get(await storeKey(plantedId))).toBeUndefined()
      // The attacker's copy of the cookie now opens nothing: fresh, anonymous, empty.
      app.events.length = 0
      const replay = await send(app, '/read', `sid=${plantedCookie}`)
      expect(replay.body).toMatchObject({ isNew: true, data: {} })
      expect(replay.body.meta.userId).toBeUndefined()
      expect(app.eventsOf('session.rejected').map((event) => event.reason)).toEqual(['unknown_session'])
      // The victim is logged in on the new id and keeps the pre-login data (a cart survives login).
      const read = await victim.get('/read')
      expect(read.body.meta.userId).toBe('victim')
      expect(read.body.data).toEqual({ planted: true })
    })

    it('a planted cookie naming an id the client chose is never adopted, before or after login', async () => {
      const chosen = 'fixation-chosen-id-0000000000001'
      const victim = new Client(app.server)
      victim.cookie = await sealWith({ sid: chosen, createdAt: Date.now() }, SECRET)
      await victim.get('/count')
      await victim.post('/login?user=victim')
      expect((await victim.get('/id')).body.id).not.toBe(chosen)
      expect(await app.store.get(await storeKey(chosen))).toBeUndefined()
    })

    it('regenerate() on a privilege change also kills the old cookie', async () => {
      const client = new Client(app.server)
      await client.post('/login?user=admin')
      const before = client.cookie!
      await client.post('/regenerate')
      expect(client.cookie).not.toBe(before)
      expect((await send(app, '/read', `sid=${before}`)).body.isNew).toBe(true)
      expect((await client.get('/read')).body.meta.userId).toBe('admin')
    })
  })

  describe(`prototype pollution: ${harness.name}`, () => {
    const apps = new Apps(harness)
    let app: App
    beforeEach(async () => {
      app = await apps.start()
    })
    afterEach(async () => {
      await apps.closeAll()
      prototypeIsClean()
      expect(unhandled()).toEqual([])
    })

    it('__proto__, constructor, prototype and method names in JSON from the store never reach Object.prototype or shadow methods', async () => {
      const id = 'raw-record-from-the-store-0000001'
      const now = Date.now()
      // Own keys named __proto__ etc. (JSON.parse makes them own properties, as a store's JSON would).
      const data = JSON.parse(`{
        "__proto__": "{\\"polluted\\":true}",
        "constructor": "{\\"prototype\\":{\\"polluted\\":true}}",
        "prototype": "{\\"polluted\\":true}",
        "login": "\\"not a function\\"",
        "save": "1",
        "id": "\\"attacker-id\\"",
        "toJSON": "\\"x\\"",
        "meta": "{\\"userId\\":\\"admin\\"}",
        "nested": "{\\"__proto__\\":{\\"polluted\\":true},\\"constructor\\":{\\"prototype\\":{\\"polluted\\":true}}}",
        "broken": "{not json",
        "kept": "42"
      }`) as Record<string, string>
      const record: SessionRecord = { data, createdAt: now, lastActiveAt: now, expiresAt: now + HOUR, absoluteExpiresAt: now + HOUR }
      expect(await app.store.create(await storeKey(id), record)).toBe(true)
      const cookie = `sid=${await sealWith({ sid: id, createdAt: now }, SECRET)}`

      const read = await send(app, '/read', cookie)
      expect(read.status).toBe(200)
      expect(read.body.isNew).toBe(false)
      // Reserved names and unparseable values never become data; the nested object keeps its keys as plain data.
      expect(Object.keys(read.body.data).sort()).toEqual(['kept', 'nested'])
      expect(read.body.data.kept).toBe(42)
      expect(Object.getOwnPropertyNames(read.body.data.nested).sort()).toEqual(['__proto__', 'constructor'])
      expect(read.body.meta.userId).toBeUndefined()
      prototypeIsClean()
      // The session's own members are intact: its id is the store's id, and login still logs in.
      expect((await send(app, '/id', cookie)).body.id).toBe(id)
      const login = await send(app, '/login?user=alice', cookie)
      expect(login.status).toBe(200)
      expect(login.body).toEqual({ user: 'alice' })
      const after = await send(app, '/read', `sid=${cookieOf(login)}`)
      expect(after.body.meta.userId).toBe('alice')
      expect(after.body.data.kept).toBe(42)
      prototypeIsClean()
    })

    it('the app cannot assign __proto__, constructor, prototype or a method name; nested __proto__ keys stay plain data', async () => {
      const client = new Client(app.server)
      await client.get('/set?key=ok&value=1')
      for (const key of ['__proto__', 'constructor', 'prototype', 'login', 'save', 'id', 'meta', 'toJSON']) {
        const res = await client.get(`/set?key=${key}&value=${encodeURIComponent('{"polluted":true}')}`)
        expect(res.status, key).toBe(500)
        prototypeIsClean()
      }
      const nested = await client.get(`/set?key=nested&value=${encodeURIComponent('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}')}`)
      expect(nested.status).toBe(200)
      const read = await client.get('/read')
      expect(read.body.data.ok).toBe(1)
      expect(Object.getOwnPropertyNames(read.body.data.nested).sort()).toEqual(['__proto__', 'constructor'])
      const login = await client.post('/login?user=bob')
      expect(login.body).toEqual({ user: 'bob' })
      prototypeIsClean()
    })

    it('data keys named like Object.prototype members (toString, hasOwnProperty, valueOf) can be set and deleted', async () => {
      const client = new Client(app.server)
      for (const key of ['toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf']) await client.get(`/set?key=${key}&value=1`)
      expect((await client.get('/read')).body.data).toEqual({ toString: 1, hasOwnProperty: 1, valueOf: 1, isPrototypeOf: 1 })
      for (const key of ['toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf']) await client.get(`/unset?key=${key}`)
      expect((await client.get('/read')).body.data).toEqual({})
    })
  })
}
