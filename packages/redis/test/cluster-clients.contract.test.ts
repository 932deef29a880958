// The shared SessionStore contract against redisStore on ioredis (single server), and on a real
// 3-master Redis Cluster through node-redis' createCluster and ioredis' Cluster; ioredis 5 too, on
// both. (node-redis on a single server: redis-store.contract.test.ts.) Same store, same Lua scripts;
// only the client differs.
import { describe } from 'vitest'
import { redisStore } from '@sesame/redis'
import { runStoreContract } from '../../../test/support/store-contract.js'
import { flavours, olderMajors } from './support/cluster-clients.js'
import { uniquePrefix } from './support/redis-fixture.js'

const underTest = [
  ...flavours.filter((f) => f.name !== 'node-redis').map((flavour) => ({ flavour, label: flavour.name })),
  ...olderMajors.map((flavour) => ({ flavour, label: `${flavour.name} 5` })),
]

for (const { flavour, label } of underTest) {
  describe.skipIf(!flavour.available)(`redisStore on ${label}`, () => {
    runStoreContract(`redisStore (${label})`, async () => {
      const connection = await flavour.connect()
      const prefix = uniquePrefix('contract')
      return {
        store: redisStore({ client: connection.client, prefix }),
        // Every key under the prefix and all it holds: "no raw id at rest" reads what Redis really has.
        storedText: () => connection.storedText(prefix),
        cleanup: async () => {
          await connection.deleteUnder(prefix)
          await connection.close()
        },
      }
    })
  })
}
