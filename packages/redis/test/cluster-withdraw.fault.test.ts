// A write to a session on a Cluster master that is down fails at its deadline (503), and stays failed:
// it does not apply when the master is back and the client reconnects. node-redis keeps commands for
// a disconnected node in that node's offline queue and sends them on reconnect, so the store has to
// withdraw them (an abort signal per command). node-redis 6's cluster client reports `isReady` while
// a master is down; trusting it sent these commands without a signal, and they applied late.
// (ioredis' Cluster retries such commands on its own and cannot withdraw them: a documented limit.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SessionStoreUnavailable } from '@sesame/core'
import { redisStore, type RedisStore } from '@sesame/redis'
import { clusterToolsAvailable, startRedisCluster, type RedisCluster } from '../../../test/support/redis-cluster.js'
import { aRecord, anUpdate, newId } from '../../../test/support/store-contract.js'
import { allScripts } from '../src/scripts.js'
import { connectNodeRedisCluster, type Connection } from './support/cluster-clients.js'
import { uniquePrefix } from './support/redis-fixture.js'

const COMMAND_TIMEOUT = 300
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(!clusterToolsAvailable())('a write to a Cluster master that is down', () => {
  let cluster: RedisCluster
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, durable: true })
  })
  afterAll(async () => {
    await cluster?.stop()
  })

  for (const version of [5, 6] as const) {
    describe(`node-redis ${version} createCluster`, () => {
      let connection: Connection
      let store: RedisStore
      const prefix = uniquePrefix(`withdraw${version}`)

      beforeAll(async () => {
        // Reconnects three seconds apart: time for the test to prepare the restarted master (scripts
        // loaded, cluster_state:ok) before the client is back on it, so that a queued command would run.
        connection = await connectNodeRedisCluster(cluster.seeds, { version, reconnectMs: 3_000 })
        store = redisStore({ client: connection.client, prefix, commandTimeout: COMMAND_TIMEOUT })
      })
      afterAll(async () => {
        await connection?.deleteUnder(prefix)
        await connection?.close()
      })

      it('fails at its deadline and is not applied once the master is back', { timeout: 30_000 }, async () => {
        const ids = Array.from({ length: 12 }, () => newId())
        for (const id of ids) await store.create(id, aRecord({ data: { cart: '"apple"' } }))
        // A session on the first master: its key names the id inside the hash tag.
        const victim = cluster.nodes[0]!
        const onVictim = await cluster.cli(victim.port, '--scan', '--pattern', `${prefix}s:*`)
        const id = ids.find((candidate) => onVictim.includes(candidate))!
        expect(id).toBeDefined()

        await victim.kill()
        await sleep(100)
        const outcome = await store.update(id, anUpdate({ set: { late: '"applied"' } })).then(() => 'resolved', (error: unknown) => error)
        expect(outcome).toBeInstanceOf(SessionStoreUnavailable)

        await victim.restart()
        // A restarted Redis has no scripts cached, so a late EVALSHA would only get NOSCRIPT; load them
        // before the client reconnects, so that a command still queued in node-redis would really run.
        for (const script of allScripts) await cluster.cli(victim.port, 'SCRIPT', 'LOAD', script.source)
        await cluster.waitUntilOk()
        let back
        for (let i = 0; i < 100 && !back; i++) {
          back = await store.get(id).catch(() => undefined)
          if (!back) await sleep(100)
        }
        await sleep(300)
        expect((await store.get(id))?.data).toEqual({ cart: '"apple"' })
      })
    })
  }
})
