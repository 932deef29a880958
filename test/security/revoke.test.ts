// Logout everywhere (ASVS 7.4.2/7.5.2): revoking a user's sessions ends them at once, on every
// device, over real HTTP against every adapter.
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '../conformance/behaviours.js'
import { harnesses } from './harnesses.js'
import { Apps, send, watchUnhandledRejections } from './kit.js'

const unhandled = watchUnhandledRejections()

for (const harness of harnesses) {
  describe(`revoke all of a user's sessions: ${harness.name}`, () => {
    const apps = new Apps(harness)
    afterEach(async () => {
      await apps.closeAll()
      expect(unhandled()).toEqual([])
    })

    it("revokeUserSessions ends every device's session on its very next request; other users are untouched", async () => {
      const app = await apps.start()
      const devices = [new Client(app.server), new Client(app.server), new Client(app.server)]
      for (const device of devices) {
        await device.post('/login?user=alice')
        await device.get('/set?key=cart&value=[1]')
      }
      const bob = new Client(app.server)
      await bob.post('/login?user=bob')
      const cookies = devices.map((device) => device.cookie!)
      expect(await app.engine.listUserSessions('alice')).toHaveLength(3)

      // Password changed on the first device: end the others, keep this one.
      const currentId = (await devices[0]!.get('/id')).body.id as string
      expect(await app.engine.revokeUserSessions('alice', { except: currentId })).toBe(2)
      expect((await devices[0]!.get('/read')).body.meta.userId).toBe('alice')
      for (const cookie of cookies.slice(1)) {
        const res = await send(app, '/read', `sid=${cookie}`)
        expect(res.body).toMatchObject({ isNew: true, data: {} })
        expect(res.body.meta.userId).toBeUndefined()
      }
      // Account disabled: everything goes.
      expect(await app.engine.revokeUserSessions('alice')).toBe(1)
      expect((await send(app, '/read', `sid=${cookies[0]}`)).body.isNew).toBe(true)
      expect(await app.engine.listUserSessions('alice')).toEqual([])
      expect((await bob.get('/read')).body.meta.userId).toBe('bob')
      const revoked = app.eventsOf('session.revoked')
      expect(revoked).toHaveLength(3)
      expect(revoked.every((event) => event.userId === 'alice')).toBe(true)
      // A revoked session's cookie is dead for writes too: a write gets a brand-new anonymous session.
      const write = await send(app, '/count', `sid=${cookies[1]}`)
      expect(write.body).toEqual({ n: 1 })
    })

    it('a request in flight while its session is revoked does not bring the session back', async () => {
      const app = await apps.start()
      const device = new Client(app.server)
      await device.post('/login?user=carol')
      // .then() sends it now (a supertest request is lazy).
      const slow = send(app, '/set?key=late&value=1&delay=80', `sid=${device.cookie}`).then((res) => res)
      await new Promise((resolve) => setTimeout(resolve, 30))
      expect(await app.engine.revokeUserSessions('carol')).toBe(1)
      const res = await slow
      expect(([] as string[]).concat(res.headers['set-cookie'] ?? []).some((line) => /^sid=;.*Max-Age=0/.test(line))).toBe(true)
      expect(await app.engine.listUserSessions('carol')).toEqual([])
      expect(app.store.size).toBe(0)
    })

    it('revokeSession ends exactly one session, named by its ref from listUserSessions', async () => {
      const app = await apps.start()
      const laptop = new Client(app.server)
      const phone = new Client(app.server)
      await laptop.post('/login?user=dave')
      await phone.post('/login?user=dave', { 'User-Agent': 'Phone/1.0' })
      const list = await app.engine.listUserSessions('dave')
      const phoneRef = list.find((entry) => entry.userAgent === 'Phone/1.0')!.ref
      expect(await app.engine.revokeSession('dave', phoneRef)).toBe(true)
      expect((await phone.get('/read')).body.isNew).toBe(true)
      expect((await laptop.get('/read')).body.meta.userId).toBe('dave')
      // A ref is not a capability across users.
      const other = new Client(app.server)
      await other.post('/login?user=eve')
      const eveRef = (await app.engine.listUserSessions('eve'))[0]!.ref
      expect(await app.engine.revokeSession('dave', eveRef)).toBe(false)
      expect((await other.get('/read')).body.meta.userId).toBe('eve')
    })
  })
}
