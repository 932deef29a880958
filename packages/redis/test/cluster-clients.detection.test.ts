// redisStore({ client }) works out which library's client it was given, or takes one of the explicit
// adapters; anything else is a start-up error that says what to pass.
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { SessionConfigError } from '@sesame/core'
import { ioredisClient, nodeRedisClient, redisStore } from '@sesame/redis'
import { aRecord, newId } from '../../../test/support/store-contract.js'
import { flavours } from './support/cluster-clients.js'
import { uniquePrefix } from './support/redis-fixture.js'

describe('redisStore client detection', () => {
  it('refuses what is not a node-redis or ioredis client, saying what to pass', () => {
    for (const client of [undefined, null, {}, { get: () => null }, 'redis://127.0.0.1:6379']) {
      expect(() => redisStore({ client } as never)).toThrow(SessionConfigError)
      expect(() => redisStore({ client } as never)).toThrow(/node-redis .*ioredis/)
    }
    expect(() => nodeRedisClient({} as never)).toThrow(SessionConfigError)
    expect(() => ioredisClient({} as never)).toThrow(SessionConfigError)
    // An ioredis client handed to the node-redis adapter (and the reverse) is a mistake, not a guess.
    const lazy = new Redis({ lazyConnect: true })
    expect(() => nodeRedisClient(lazy as never)).toThrow(SessionConfigError)
    lazy.disconnect()
  })

  for (const flavour of flavours) {
    it.skipIf(!flavour.available)(`works with ${flavour.name}, detected and through its explicit adapter`, async () => {
      const connection = await flavour.connect()
      const prefix = uniquePrefix('detection')
      try {
        const explicit = flavour.name.startsWith('ioredis') ? ioredisClient(connection.client as never) : nodeRedisClient(connection.client as never)
        expect(explicit.isCluster).toBe(flavour.cluster)
        for (const client of [connection.client, explicit]) {
          const store = redisStore({ client, prefix })
          const id = newId()
          expect(await store.create(id, aRecord({ userId: 'dee' }))).toBe(true)
          expect((await store.get(id))?.userId).toBe('dee')
          expect(await store.destroy(id)).toBe(true)
        }
      } finally {
        await connection.deleteUnder(prefix)
        await connection.close()
      }
    })
  }
})
