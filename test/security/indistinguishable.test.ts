// What a client learns from a rejected cookie: nothing. A tampered seal, an unknown key id, garbage,
// a forged seal naming an unknown id and a destroyed session's cookie get byte-for-byte the same
// kind of response (status, headers, body, cookie attributes); only the server-side audit event says
// which it was. The MAC itself is compared in constant time (noble's equalBytes on the fast path,
// crypto.subtle.verify inside iron-webcrypto otherwise): see docs/security.md.
import { afterEach, describe, expect, it } from 'vitest'
import type { Response } from 'supertest'
import { Client } from '../conformance/behaviours.js'
import { harnesses } from './harnesses.js'
import { Apps, OTHER_SECRET, SECRET, SECRET_ID, sealWith, send, watchUnhandledRejections } from './kit.js'

const unhandled = watchUnhandledRejections()

/** Everything a client can see, with the parts that differ on every response (time, new cookie value) masked. */
function shape(res: Response) {
  const headers = Object.fromEntries(
    Object.entries(res.headers)
      .filter(([name]) => !['date', 'etag', 'keep-alive', 'connection'].includes(name))
      .map(([name, value]) => [name, name === 'set-cookie' ? ([] as string[]).concat(value as string | string[]).map((line) => line.replace(/^sid=[^;]+/, 'sid=<value>')) : value]),
  )
  return { status: res.status, headers, body: res.body, text: res.text }
}

for (const harness of harnesses) {
  describe(`indistinguishable rejections: ${harness.name}`, () => {
    const apps = new Apps(harness)
    afterEach(async () => {
      await apps.closeAll()
      expect(unhandled()).toEqual([])
    })

    it('tampered, unknown key id, garbage, unknown session and destroyed session: the same response, different audit reasons', async () => {
      const app = await apps.start()
      const victim = new Client(app.server)
      await victim.post('/login?user=victim')
      await victim.get('/set?key=n&value=41')
      const good = victim.cookie!
      const victimId = (await victim.get('/id')).body.id as string
      const destroyed = new Client(app.server)
      await destroyed.get('/count')
      const destroyedCookie = destroyed.cookie!
      await destroyed.post('/destroy')
      const parts = good.split('*')
      parts[4] = parts[4]!.slice(0, 3) + (parts[4]![3] === 'A' ? 'B' : 'A') + parts[4]!.slice(4)
      const cases: Record<string, string> = {
        tampered: parts.join('*'),
        wrongSecret: await sealWith({ sid: victimId, createdAt: Date.now() }, OTHER_SECRET, SECRET_ID),
        unknownKey: await sealWith({ sid: victimId, createdAt: Date.now() }, SECRET, 'k9'),
        garbage: 'Fe26.2*garbage',
        unknownSession: await sealWith({ sid: 'never-issued-session-id-000001', createdAt: Date.now() }, SECRET),
        destroyed: destroyedCookie,
      }
      for (const path of ['/read', '/count']) {
        const shapes: Record<string, ReturnType<typeof shape>> = {}
        const reasons: Record<string, string | undefined> = {}
        for (const [label, cookie] of Object.entries(cases)) {
          app.events.length = 0
          const res = await send(app, path, `sid=${cookie}`)
          const seen = shape(res)
          if (path === '/read') {
            // meta carries the fresh session's timestamps: mask them, keep everything else.
            seen.body = { ...seen.body, meta: Object.keys(seen.body.meta ?? {}) }
            seen.text = ''
          }
          shapes[label] = seen
          reasons[label] = app.eventsOf('session.rejected')[0]?.reason
        }
        const [first, ...rest] = Object.entries(shapes)
        for (const [label, seen] of rest) expect(seen, `${path}: ${label} vs ${first![0]}`).toEqual(first![1])
        // The comparison can tell sessions apart: the genuine cookie gets a different answer.
        const genuine = await send(app, path, `sid=${good}`)
        expect(genuine.body, `${path}: genuine`).not.toEqual(first![1].body)
        // The server does know which it was.
        expect(reasons).toEqual({
          tampered: 'tampered',
          wrongSecret: 'tampered',
          unknownKey: 'unknown_key',
          garbage: 'malformed',
          unknownSession: 'unknown_session',
          destroyed: 'unknown_session',
        })
      }
    })
  })
}
