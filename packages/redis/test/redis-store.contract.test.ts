// The shared SessionStore contract, run against redisStore on a real Redis server.
import { describe } from 'vitest'
import { redisStore } from '@sesame/redis'
import { hasRedis } from '../../../test/support/redis.js'
import { runStoreContract } from '../../../test/support/store-contract.js'
import { connectClient, deleteUnder, keysUnder, uniquePrefix, type TestClient } from './support/redis-fixture.js'

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
      storedText: () => everythingUnder(client, prefix),
    }
  })
})

/** Every key under the prefix and the text of its value, for the contract's "no raw id at rest". */
async function everythingUnder(client: TestClient, prefix: string): Promise<string[]> {
  const texts: string[] = []
  for (const key of await keysUnder(client, prefix)) {
    texts.push(key)
    const type = await client.type(key)
    if (type === 'hash') texts.push(JSON.stringify(await client.hGetAll(key)))
    else if (type === 'set') texts.push(JSON.stringify(await client.sMembers(key)))
    else if (type === 'zset') texts.push(JSON.stringify(await client.zRange(key, 0, -1)))
    else if (type === 'list') texts.push(JSON.stringify(await client.lRange(key, 0, -1)))
    else if (type === 'string') texts.push(String(await client.get(key)))
    else throw new Error(`the contract cannot read a Redis ${type} (${key})`)
  }
  return texts
}
