// koaSessionStore() against a real third-party koa-session store from npm: koa-redis (on the shared
// Redis, every key under a prefix of this file's own). First the SessionStore contract every sesame
// store passes; then the koa-session README app with the koa-redis store passed straight to
// session({ store, prefix }), compared step by step with koa-session on the same store.
import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import koaSession from 'koa-session'
import redisStore from 'koa-redis'
import { createClient } from 'redis'
import { afterEach, describe, expect, it } from 'vitest'
import { koaSessionStore } from '@sesame/core'
import { session as sesameSession } from '@sesame/koa'
import { hasRedis, redisUrl } from '../support/redis.js'
import { runStoreContract } from '../support/store-contract.js'
import { koaReadmeApp } from './apps/koa-readme-app.js'
import { close, listen, runFlow, type Step } from './flow.js'

const prefix = (label: string) => `sesame-compat:${label}:${randomUUID().slice(0, 8)}:`

/** Test-side cleanup of every key under `keys` (SCAN is fine in a test). */
async function deleteUnder(keys: string): Promise<number> {
  const client = createClient({ url: redisUrl })
  client.on('error', () => {})
  await client.connect()
  try {
    const found: string[] = []
    for await (const batch of client.scanIterator({ MATCH: `${keys}*`, COUNT: 1000 })) found.push(...batch)
    if (found.length > 0) await client.del(found)
    return found.length
  } finally {
    client.destroy()
  }
}

type KoaRedis = ReturnType<typeof redisStore> & { quit(): Promise<unknown> }
const open = (): KoaRedis => redisStore({ url: redisUrl }) as KoaRedis

describe.skipIf(!hasRedis)('koaSessionStore(koa-redis)', () => {
  runStoreContract('koaSessionStore(koa-redis)', async () => {
    const inner = open()
    const keys = prefix('contract')
    return {
      store: koaSessionStore(inner, { prefix: keys }),
      cleanup: async () => {
        await deleteUnder(keys)
        await inner.quit()
      },
    }
  })
})

const steps: Step[] = [
  { name: 'count', method: 'GET', path: '/views' },
  { name: 'count again', method: 'GET', path: '/views' },
  { name: 'login, remembered', method: 'POST', path: '/login', form: { user: 'dora', remember: 'on' } },
  { name: 'logged in', method: 'GET', path: '/' },
  { name: 'logout', method: 'POST', path: '/logout' },
  { name: 'after logout', method: 'GET', path: '/' },
]

const servers: Server[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await close(server)
})

describe.skipIf(!hasRedis)('the koa-session README app with koa-redis passed straight to session({ store, prefix })', () => {
  it('behaves the same on sesame as on koa-session, and keeps every key under the prefix', async () => {
    const peerStore = open()
    const ourStore = open()
    const peerKeys = prefix('peer')
    const ourKeys = prefix('ours')
    try {
      const peer = await listen(createServer(koaReadmeApp(koaSession, 'unused', peerStore, peerKeys).callback()))
      const ours = await listen(createServer(koaReadmeApp(sesameSession, 'a sesame secret of at least 32 characters', ourStore, ourKeys).callback()))
      servers.push(peer, ours)
      const expected = await runFlow(peer, 'koa.sess', steps)
      const actual = await runFlow(ours, 'koa.sess', steps)
      for (let i = 0; i < steps.length; i++) expect(actual.observations[i], steps[i]!.name).toEqual(expected.observations[i])
      expect(actual.observations[1]!.body).toBe('2 views')
      expect(JSON.parse(actual.observations[3]!.body)).toMatchObject({ user: 'dora', views: 2, maxAge: 30 * 24 * 3_600_000 })
      // After logout nothing of the session is left under our prefix (the user index went with it).
      expect(await deleteUnder(ourKeys)).toBe(0)
    } finally {
      await deleteUnder(peerKeys)
      await deleteUnder(ourKeys)
      await peerStore.quit()
      await ourStore.quit()
    }
  })
})
