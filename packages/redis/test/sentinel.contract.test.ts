// redisStore behind a Redis Sentinel: the shared SessionStore contract through node-redis'
// createSentinel (its own client kind, with the same command options as a client), and a session's
// round trip through ioredis with `sentinels` (an ordinary Redis instance that asks the Sentinel for
// the master, so the ioredis contract on a single server covers the rest). Runs a redis-server and a
// Sentinel of its own.
import { Redis } from 'ioredis'
import { createSentinel } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisStore, type RedisStoreClient } from '@sesame/redis'
import { clusterToolsAvailable } from '../../../test/support/redis-cluster.js'
import { startRedisWithSentinel, type RedisWithSentinel } from '../../../test/support/redis-sentinel.js'
import { aRecord, anUpdate, newId, runStoreContract } from '../../../test/support/store-contract.js'
import { uniquePrefix } from './support/redis-fixture.js'

describe.skipIf(!clusterToolsAvailable())('redisStore behind a Redis Sentinel', () => {
  let sentinel: RedisWithSentinel
  beforeAll(async () => {
    sentinel = await startRedisWithSentinel()
  })
  afterAll(async () => {
    await sentinel?.stop()
  })

  interface SentinelConnection {
    client: RedisStoreClient
    keys(pattern: string): Promise<string[]>
    del(keys: string[]): Promise<unknown>
    close(): void
  }

  const connectSentinel = async (): Promise<SentinelConnection> => {
    const client = createSentinel({ name: sentinel.masterName, sentinelRootNodes: [{ host: '127.0.0.1', port: sentinel.sentinelPort }] })
    client.on('error', () => {})
    await client.connect()
    return { client, del: (keys) => client.del(keys), keys: (pattern) => client.keys(pattern), close: () => client.destroy() }
  }

  const connectIoredis = async (): Promise<SentinelConnection> => {
    const client = new Redis({ name: sentinel.masterName, sentinels: [{ host: '127.0.0.1', port: sentinel.sentinelPort }] })
    client.on('error', () => {})
    await new Promise((resolve) => client.once('ready', resolve))
    return { client, del: (keys) => client.del(...keys), keys: (pattern) => client.keys(pattern), close: () => client.disconnect() }
  }

  runStoreContract('redisStore (node-redis createSentinel)', async () => {
    const connection = await connectSentinel()
    const prefix = uniquePrefix('sentinel')
    return {
      store: redisStore({ client: connection.client, prefix }),
      cleanup: async () => {
        const keys = await connection.keys(`${prefix}*`)
        if (keys.length > 0) await connection.del(keys)
        connection.close()
      },
    }
  })

  it('keeps, updates, lists and revokes a session (ioredis with sentinels)', async () => {
    const connection = await connectIoredis()
    const prefix = uniquePrefix('sentinel')
    try {
      const store = redisStore({ client: connection.client, prefix })
      const id = newId()
      expect(await store.create(id, aRecord({ userId: 'sam', data: { cart: '["apple"]' } }))).toBe(true)
      expect(await store.update(id, anUpdate({ set: { theme: '"dark"' } }))).toBe(true)
      expect((await store.get(id))?.data).toEqual({ cart: '["apple"]', theme: '"dark"' })
      expect((await store.listByUser('sam')).map((session) => session.id)).toEqual([id])
      expect(await store.destroyByUser('sam')).toEqual([id])
      expect(await store.get(id)).toBeUndefined()
    } finally {
      const keys = await connection.keys(`${prefix}*`)
      if (keys.length > 0) await connection.del(keys)
      connection.close()
    }
  })
})
