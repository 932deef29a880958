// The shared SessionStore contract against redisStore behind a Redis Sentinel: node-redis'
// createSentinel (its own client kind, with the same command options as a client) and ioredis with
// `sentinels` (an ordinary Redis instance that asks the Sentinel for the master). Runs a redis-server
// and a Sentinel of its own.
import { Redis } from 'ioredis'
import { createSentinel } from 'redis'
import { afterAll, beforeAll, describe } from 'vitest'
import { redisStore, type RedisStoreClient } from '@sesame/redis'
import { clusterToolsAvailable } from '../../../test/support/redis-cluster.js'
import { startRedisWithSentinel, type RedisWithSentinel } from '../../../test/support/redis-sentinel.js'
import { runStoreContract } from '../../../test/support/store-contract.js'
import { uniquePrefix } from './support/redis-fixture.js'

describe.skipIf(!clusterToolsAvailable())('redisStore behind a Redis Sentinel', () => {
  let sentinel: RedisWithSentinel
  beforeAll(async () => {
    sentinel = await startRedisWithSentinel()
  })
  afterAll(async () => {
    await sentinel?.stop()
  })

  const clients: Array<[string, () => Promise<{ client: RedisStoreClient; del(keys: string[]): Promise<unknown>; keys(pattern: string): Promise<string[]>; close(): void }>]> = [
    [
      'node-redis createSentinel',
      async () => {
        const client = createSentinel({ name: sentinel.masterName, sentinelRootNodes: [{ host: '127.0.0.1', port: sentinel.sentinelPort }] })
        client.on('error', () => {})
        await client.connect()
        return { client, del: (keys) => client.del(keys), keys: (pattern) => client.keys(pattern), close: () => client.destroy() }
      },
    ],
    [
      'ioredis with sentinels',
      async () => {
        const client = new Redis({ name: sentinel.masterName, sentinels: [{ host: '127.0.0.1', port: sentinel.sentinelPort }] })
        client.on('error', () => {})
        await new Promise((resolve) => client.once('ready', resolve))
        return { client, del: (keys) => client.del(...keys), keys: (pattern) => client.keys(pattern), close: () => client.disconnect() }
      },
    ],
  ]

  for (const [name, connect] of clients) {
    runStoreContract(`redisStore (${name})`, async () => {
      const connection = await connect()
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
  }
})
