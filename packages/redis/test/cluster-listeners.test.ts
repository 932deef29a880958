// Issue 25 item 4: node-redis 5's createCluster client has no readiness flag, so every store command
// on it carries an abort signal (so that the call's deadline can withdraw it). listByUser and
// destroyByUser send one command per session at once; with one signal shared by the whole call, more
// than ten queued commands each added an 'abort' listener to it and Node warned
// (MaxListenersExceededWarning), about 300 times in a run. Each command now has its own signal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisStore, type RedisStore } from '@sesame/redis'
import { hasRedisCluster } from '../../../test/support/redis.js'
import { aRecord, newId } from '../../../test/support/store-contract.js'
import { connectNodeRedisCluster, type Connection } from './support/cluster-clients.js'
import { uniquePrefix } from './support/redis-fixture.js'

const SESSIONS = 40

describe.skipIf(!hasRedisCluster)('redisStore on a node-redis cluster, for a user with many sessions', () => {
  const prefix = uniquePrefix('listeners')
  let connection: Connection
  let store: RedisStore
  const warnings: Error[] = []
  const onWarning = (warning: Error) => void warnings.push(warning)

  beforeAll(async () => {
    connection = await connectNodeRedisCluster()
    store = redisStore({ client: connection.client, prefix })
    process.on('warning', onWarning)
  })
  afterAll(async () => {
    process.off('warning', onWarning)
    await connection.deleteUnder(prefix)
    await connection.close()
  })

  it(`lists and revokes ${SESSIONS} sessions of one user without a MaxListenersExceededWarning`, async () => {
    const userId = `user-${newId()}`
    const ids = Array.from({ length: SESSIONS }, () => newId())
    await Promise.all(ids.map((id) => store.create(id, aRecord({ userId }))))

    for (let round = 0; round < 5; round++) {
      expect((await store.listByUser(userId)).map((session) => session.id).sort()).toEqual([...ids].sort())
    }
    expect((await store.destroyByUser(userId, ids[0])).sort()).toEqual(ids.slice(1).sort())
    expect((await store.listByUser(userId)).map((session) => session.id)).toEqual([ids[0]])
    expect(await store.destroyByUser(userId)).toEqual([ids[0]])

    // Node emits process warnings on a later tick.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning').map(String)).toEqual([])
  })
})
