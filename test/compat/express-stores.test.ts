// expressSessionStore() against real third-party express-session stores from npm: memorystore (in
// process) and connect-redis (on the shared Redis, under a key prefix of this file's own). First the
// SessionStore contract every sesame store passes; then the express-session README app, with each
// store passed straight to session({ store }), compared step by step with express-session on the same
// kind of store.
import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { RedisStore } from 'connect-redis'
import expressSession from 'express-session'
import createMemoryStore from 'memorystore'
import { createClient } from 'redis'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { expressSessionStore } from '@sesame/core'
import { session as sesameSession } from '@sesame/express'
import { hasRedis, redisUrl } from '../support/redis.js'
import { runStoreContract } from '../support/store-contract.js'
import { expressReadmeApp } from './apps/express-readme-app.js'
import { close, listen, runFlow, type Step } from './flow.js'

const MemoryStore = createMemoryStore(expressSession)

type Client = ReturnType<typeof createClient>

async function connect(): Promise<Client> {
  const client = createClient({ url: redisUrl })
  client.on('error', () => {}) // node-redis re-emits connection errors as uncaught exceptions otherwise
  await client.connect()
  return client
}

async function deleteUnder(client: Client, prefix: string): Promise<void> {
  const keys: string[] = []
  for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys.push(...batch)
  if (keys.length > 0) await client.del(keys)
}

const prefix = (label: string) => `sesame-compat:${label}:${randomUUID().slice(0, 8)}:`

describe('expressSessionStore(memorystore)', () => {
  runStoreContract('expressSessionStore(memorystore)', async () => {
    const inner = new MemoryStore({ checkPeriod: 60_000 })
    return { store: expressSessionStore(inner), cleanup: async () => inner.stopInterval() }
  })
})

describe.skipIf(!hasRedis)('expressSessionStore(connect-redis)', () => {
  runStoreContract('expressSessionStore(connect-redis)', async () => {
    const client = await connect()
    const keys = prefix('contract')
    return {
      store: expressSessionStore(new RedisStore({ client, prefix: keys })),
      cleanup: async () => {
        await deleteUnder(client, keys)
        client.destroy()
      },
    }
  })

  it('writes nothing a cookie could name: keys are hashes of the ids, the TTL follows the deadline', async () => {
    const client = await connect()
    const keys = prefix('layout')
    try {
      const app = expressReadmeApp(sesameSession, 'a sesame secret of at least 32 characters', new RedisStore({ client, prefix: keys }))
      const server = await listen(createServer(app))
      const { observations } = await runFlow(server, 'sid', [{ name: 'count', method: 'GET', path: '/foo' }])
      await close(server)
      expect(observations[0]!.body).toBe('you viewed this page 1 times')
      const stored: string[] = []
      for await (const batch of client.scanIterator({ MATCH: `${keys}*`, COUNT: 1000 })) stored.push(...batch)
      expect(stored).toHaveLength(1)
      expect(stored[0]!.slice(keys.length)).toMatch(/^[A-Za-z0-9_-]{43}$/) // SHA-256, base64url
      const ttl = await client.ttl(stored[0]!)
      expect(ttl).toBeGreaterThan(25 * 60) // the 30-minute idle deadline, not connect-redis's default day
      expect(ttl).toBeLessThanOrEqual(30 * 60)
    } finally {
      await deleteUnder(client, keys)
      client.destroy()
    }
  })
})

const steps: Step[] = [
  { name: 'first visit', method: 'GET', path: '/' },
  { name: 'count', method: 'GET', path: '/foo' },
  { name: 'count again', method: 'GET', path: '/foo' },
  { name: 'login', method: 'POST', path: '/login', form: { user: 'carol', pass: 'x', remember: 'on' } },
  { name: 'logged in', method: 'GET', path: '/' },
  { name: 'whoami', method: 'GET', path: '/whoami' },
  { name: 'logout', method: 'POST', path: '/logout', endsSession: true },
  { name: 'after logout', method: 'GET', path: '/foo' },
]

const servers: Server[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await close(server)
  vi.restoreAllMocks()
})

async function compare(peerStore: unknown, ourStore: unknown): Promise<void> {
  const peer = await listen(createServer(expressReadmeApp(expressSession, 'keyboard cat', peerStore)))
  const ours = await listen(createServer(expressReadmeApp(sesameSession, 'keyboard cat and a secret of 32+ characters', ourStore)))
  servers.push(peer, ours)
  const expected = await runFlow(peer, 'connect.sid', steps)
  const actual = await runFlow(ours, 'sid', steps)
  for (let i = 0; i < steps.length; i++) expect(actual.observations[i], steps[i]!.name).toEqual(expected.observations[i])
  expect(actual.observations[2]!.body).toBe('you viewed this page 2 times')
  expect(actual.observations[5]!.body).toBe(JSON.stringify({ user: 'carol', remembered: true, hasId: true }))
}

describe('the express-session README app with a third-party store passed straight to session({ store })', () => {
  it('memorystore: behaves the same on sesame as on express-session', async () => {
    const peerStore = new MemoryStore({ checkPeriod: 60_000 })
    const ourStore = new MemoryStore({ checkPeriod: 60_000 })
    try {
      await compare(peerStore, ourStore)
      // The record lives in memorystore itself (not in a memory store of sesame's).
      const count = await new Promise<number>((resolve, reject) => ourStore.length((error: unknown, n: number) => (error ? reject(error) : resolve(n))))
      expect(count).toBeGreaterThan(0)
    } finally {
      peerStore.stopInterval()
      ourStore.stopInterval()
    }
  })

  it.skipIf(!hasRedis)('connect-redis: behaves the same on sesame as on express-session', async () => {
    const client = await connect()
    const peerKeys = prefix('peer')
    const ourKeys = prefix('ours')
    try {
      await compare(new RedisStore({ client, prefix: peerKeys }), new RedisStore({ client, prefix: ourKeys }))
    } finally {
      await deleteUnder(client, peerKeys)
      await deleteUnder(client, ourKeys)
      client.destroy()
    }
  })
})
