// Logout everywhere across processes: two engines (two app instances, as two processes would be)
// share one real Redis through @sesame/redis. Revoking a user's sessions on one instance ends them
// on the other at once — there is no per-process cache of sessions that could keep a revoked one alive.
import { randomUUID } from 'node:crypto'
import { createClient } from 'redis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { redisStore } from '@sesame/redis'
import { Client } from '../conformance/behaviours.js'
import { hasRedis, redisUrl } from '../support/redis.js'
import { harnesses } from './harnesses.js'
import { Apps, send, watchUnhandledRejections } from './kit.js'

const unhandled = watchUnhandledRejections()
for (const harness of harnesses) {
  describe.skipIf(!hasRedis)(`revoke across processes sharing Redis: ${harness.name}`, () => {
    const apps = new Apps(harness)
    let client: ReturnType<typeof createClient>
    const prefix = `sesame-security-${randomUUID()}:`

    beforeAll(async () => {
      client = createClient({ url: redisUrl })
      await client.connect()
    })
    afterEach(async () => {
      await apps.closeAll()
      expect(unhandled()).toEqual([])
    })
    afterAll(async () => {
      await client?.quit()
    })

    it('revokeUserSessions on instance A ends the user’s sessions on instance B immediately; others keep theirs', async () => {
      const a = await apps.start({ store: redisStore({ client, prefix }) })
      const b = await apps.start({ store: redisStore({ client, prefix }) })
      const laptop = new Client(a.server)
      const phone = new Client(b.server)
      const other = new Client(b.server)
      await laptop.post('/login?user=alice')
      await phone.post('/login?user=alice')
      await other.post('/login?user=bob')
      await phone.get('/set?key=cart&value=[1]')
      // Each instance sees the sessions made by the other: one store.
      expect((await send(b, '/read', `sid=${laptop.cookie}`)).body.meta.userId).toBe('alice')
      expect(await a.engine.listUserSessions('alice')).toHaveLength(2)

      expect(await a.engine.revokeUserSessions('alice')).toBe(2)
      // The very next request on B, with either cookie, is a fresh anonymous session.
      for (const cookie of [phone.cookie!, laptop.cookie!]) {
        const res = await send(b, '/read', `sid=${cookie}`)
        expect(res.body).toMatchObject({ isNew: true, data: {} })
        expect(res.body.meta.userId).toBeUndefined()
      }
      expect((await other.get('/read')).body.meta.userId).toBe('bob')
      expect(await b.engine.listUserSessions('alice')).toEqual([])
      expect(a.eventsOf('session.revoked').map((event) => event.userId)).toEqual(['alice', 'alice'])
    })
  })
}
