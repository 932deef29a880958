// Issue 22: slots move between masters of a real 3-master Redis Cluster (`redis-cli --cluster
// reshard`, keys and all) while logged-in users write through an Express app on the cluster store.
// The clients get MOVED and ASK replies and follow them; what the user sees, for node-redis'
// createCluster and for ioredis' Cluster: a 200 on the same session, or (a call that could not finish
// within commandTimeout) a 503 with store.error; never a fresh session, never a lost acknowledged
// write, and every user served once the slots have moved.
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisStore } from '@sesame/redis'
import { clusterToolsAvailable, startRedisCluster, type RedisCluster } from '../../../test/support/redis-cluster.js'
import { connectIoRedisCluster, connectNodeRedisCluster, type Connection } from './support/cluster-clients.js'
import { cookieOf, startApp, type RunningApp } from './support/express-app.js'
import { uniquePrefix } from './support/redis-fixture.js'

const USERS = 30
const SLOTS_TO_MOVE = 3_000
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const clients: Array<[string, (seeds: string) => Promise<Connection>]> = [
  ['node-redis createCluster', connectNodeRedisCluster],
  ['ioredis Cluster', connectIoRedisCluster],
]

describe.skipIf(!clusterToolsAvailable())('Redis Cluster slots migrating under load', () => {
  for (const [name, connect] of clients) {
    describe(name, () => {
      let cluster: RedisCluster
      let connection: Connection
      let running: RunningApp
      const prefix = uniquePrefix('migration')

      beforeAll(async () => {
        cluster = await startRedisCluster({ masters: 3 })
        connection = await connect(cluster.seeds)
        running = await startApp(redisStore({ client: connection.client, prefix, commandTimeout: 1_000 }))
      })
      afterAll(async () => {
        await running?.close()
        await connection?.close()
        await cluster?.stop()
      })

      const sessionsOn = (port: number) =>
        cluster.cli(port, '--scan', '--pattern', `${prefix}s:*`).then((out) => out.split('\n').filter(Boolean).length)

      it('follows MOVED and ASK: 200 on the same session or 503, never a fresh session or a lost write', { timeout: 60_000 }, async () => {
        const users = Array.from({ length: USERS }, (_, i) => `user${i}`)
        const cookies = new Map<string, string>()
        for (const user of users) cookies.set(user, cookieOf(await request(running.server).post(`/login/${user}`).expect(200))!)

        const [from, to] = cluster.nodes as [RedisCluster['nodes'][0], RedisCluster['nodes'][0]]
        const before = await sessionsOn(from.port)
        expect(before).toBeGreaterThan(0)

        running.events.length = 0
        const statuses: Array<{ status: number; code?: string; freshCookie: boolean }> = []
        const acknowledged = new Map<string, Map<string, string>>(users.map((user) => [user, new Map()]))
        let stop = false
        const load = users.map(async (user) => {
          const cookie = cookies.get(user)!
          for (let seq = 0; !stop; seq++) {
            const res = await request(running.server).post(`/set/w${seq}?value=${user}-${seq}`).set('Cookie', cookie)
            const setCookie = cookieOf(res)
            statuses.push({ status: res.status, code: res.body?.code, freshCookie: setCookie !== undefined && setCookie !== cookie })
            if (res.status === 200) acknowledged.get(user)!.set(`w${seq}`, `${user}-${seq}`)
            await sleep(10)
          }
        })

        await sleep(300)
        const fromId = (await cluster.cli(from.port, 'CLUSTER', 'MYID')).trim()
        const toId = (await cluster.cli(to.port, 'CLUSTER', 'MYID')).trim()
        await cluster.cli(
          from.port,
          '--cluster', 'reshard', `127.0.0.1:${from.port}`,
          '--cluster-from', fromId, '--cluster-to', toId, '--cluster-slots', String(SLOTS_TO_MOVE), '--cluster-yes',
        )
        await cluster.waitUntilOk()
        const moved = before - (await sessionsOn(from.port))
        const servedAt = statuses.length
        // Every user served once more after the move.
        const deadline = Date.now() + 15_000
        while (statuses.slice(servedAt).filter((s) => s.status === 200).length < 2 * USERS && Date.now() < deadline) await sleep(50)
        stop = true
        await Promise.all(load)

        expect(moved).toBeGreaterThan(0) // sessions really changed masters under the load
        const failed = statuses.filter((s) => s.status !== 200)
        expect(failed.filter((s) => !(s.status === 503 && s.code === 'SESSION_STORE_UNAVAILABLE'))).toEqual([])
        expect(running.events.filter((event) => event.type === 'store.error').length).toBeGreaterThanOrEqual(failed.length)
        expect(running.events.filter((event) => event.type === 'session.created')).toEqual([])
        expect(statuses.filter((s) => s.freshCookie)).toEqual([])
        for (const user of users) {
          const res = await request(running.server).get('/data').set('Cookie', cookies.get(user)!).expect(200)
          expect(res.body.userId).toBe(user)
          for (const [key, value] of acknowledged.get(user)!) expect(res.body.data[key], `${user} ${key}`).toBe(value)
        }
        console.info(`${name}: ${SLOTS_TO_MOVE} slots moved (${moved} of ${before} sessions on the source moved), ${statuses.length} requests, ${failed.length} 503`)
      })
    })
  }
})
