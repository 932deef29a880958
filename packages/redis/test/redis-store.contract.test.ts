// The shared SessionStore contract, run against redisStore on a real Redis server.
import { describe } from 'vitest'
import { redisStore } from '@sesame/redis'
import { hasRedis } from '../../../test/support/redis.js'
import { runStoreContract } from '../../../test/support/store-contract.js'
import { connectClient, deleteUnder, uniquePrefix } from './support/redis-fixture.js'

describe.skipIf(!hasRedis)('redisStore', () => {
  runStoreContract('redisStore', async () => {
    const client = await connectClient()
    const prefix = uniquePrefix('contract')
    return {
      store: redisStore({ client, prefix }),
      cleanup: async () => {
        await deleteUnder(client, prefix)
        client.destroy()
      },
    }
  })
})
