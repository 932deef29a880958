// Issue 22: one master of a real 3-master Redis Cluster is killed (SIGKILL of its PID) while logged-in
// users write through an Express app on the cluster store, then restarted on the same ports with its
// nodes.conf and AOF. Shown, for node-redis' createCluster and for ioredis' Cluster:
// - while it is down, requests answer 503 with a store.error audit event (its slots first, then,
//   once the other masters mark it failed, every slot: cluster-require-full-coverage is on);
// - never a 200 on a fresh session: every request carries a valid cookie, so no session is created,
//   and no response sets a different cookie;
// - once it is back, every user is served again, and every write answered 200 is in the user's session.
// Every sixth request of a user is a login again (a rename of the session to a new id): a 200 hands
// out the new cookie, a 503 leaves the old one valid, and either way the user stays logged in with
// all their data (issue 25 item 5 asked whether a killed master logs users out through a rename).
// The cluster is durable (AOF, fsync before every reply: `--appendonly yes --appendfsync always`):
// without it a killed master comes back empty, and the sessions in its slots are gone for a reason
// that is Redis' durability setting, not the store's; with `everysec` up to a second of acknowledged
// writes could go. Bounded: about 7 s of load per client (at most ~30 s).
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisStore } from '@sesame/redis'
import { clusterToolsAvailable, startRedisCluster, type RedisCluster } from '../../../test/support/redis-cluster.js'
import { connectIoRedisCluster, connectNodeRedisCluster, type Connection } from './support/cluster-clients.js'
import { cookieOf, startApp, type RunningApp } from './support/express-app.js'
import { uniquePrefix } from './support/redis-fixture.js'

const USERS = 24
const COMMAND_TIMEOUT = 500
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Outcome {
  user: string
  phase: 'before' | 'down' | 'after'
  status: number
  code?: string
  freshCookie: boolean
}

const clients: Array<[string, (seeds: string) => Promise<Connection>]> = [
  ['node-redis createCluster', connectNodeRedisCluster],
  ['ioredis Cluster', connectIoRedisCluster],
]

describe.skipIf(!clusterToolsAvailable())('a Redis Cluster master killed under load', () => {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => void unhandled.push(reason)
  // One cluster for both clients: it is whole again (cluster_state:ok) after each test.
  let cluster: RedisCluster
  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled)
    cluster = await startRedisCluster({ masters: 3, durable: true, nodeTimeoutMs: 1_000 })
  })
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled)
    await cluster?.stop()
  })

  for (const [name, connect] of clients) {
    describe(name, () => {
      let connection: Connection
      let running: RunningApp
      const prefix = uniquePrefix('master-kill')

      beforeAll(async () => {
        connection = await connect(cluster.seeds)
        running = await startApp(redisStore({ client: connection.client, prefix, commandTimeout: COMMAND_TIMEOUT }))
      })
      afterAll(async () => {
        await running?.close()
        await connection?.close()
      })

      // 1.2 s: back before the other masters agree it failed (issue 25 item 5's case); 3 s: the cluster
      // marks it failed and refuses every slot (CLUSTERDOWN) until it is back.
      for (const downMs of [1_200, 3_000]) it(`answers 503 while it is down (${downMs} ms), never serves a fresh session, and loses no acknowledged write`, { timeout: 60_000 }, async () => {
        const users = Array.from({ length: USERS }, (_, i) => `user${i}-down${downMs}`)
        const cookies = new Map<string, string>()
        for (const user of users) cookies.set(user, cookieOf(await request(running.server).post(`/login/${user}`).expect(200))!)

        // The master holding the most of these sessions is the one to kill.
        const sessionsOn = await Promise.all(
          cluster.nodes.map(async (node) => (await cluster.cli(node.port, '--scan', '--pattern', `${prefix}s:*`)).split('\n').filter(Boolean).length),
        )
        const victim = cluster.nodes[sessionsOn.indexOf(Math.max(...sessionsOn))]!
        expect(Math.max(...sessionsOn)).toBeGreaterThan(0)

        running.events.length = 0
        const outcomes: Outcome[] = []
        const acknowledged = new Map<string, Map<string, string>>(users.map((user) => [user, new Map()]))
        let phase: Outcome['phase'] = 'before'
        let stop = false

        let logins = 0
        const load = users.map(async (user) => {
          for (let seq = 0; !stop; seq++) {
            const cookie = cookies.get(user)!
            const requestPhase = phase
            if (seq % 6 === 5) {
              const res = await request(running.server).post(`/login/${user}`).set('Cookie', cookie)
              outcomes.push({ user, phase: requestPhase, status: res.status, code: res.body?.code, freshCookie: false })
              if (res.status === 200) {
                cookies.set(user, cookieOf(res)!)
                logins++
              } else {
                expect(cookieOf(res)).toBeUndefined() // a failed login keeps the old cookie
              }
            } else {
              const key = `w${seq}`
              const value = `${user}-${seq}`
              const res = await request(running.server).post(`/set/${key}?value=${value}`).set('Cookie', cookie)
              const setCookie = cookieOf(res)
              outcomes.push({ user, phase: requestPhase, status: res.status, code: res.body?.code, freshCookie: setCookie !== undefined && setCookie !== cookie })
              if (res.status === 200) acknowledged.get(user)!.set(key, value)
            }
            await sleep(20)
          }
        })

        try {
          await sleep(1_000)
          phase = 'down'
          await victim.kill()
          await sleep(downMs)
          await victim.restart()
          await cluster.waitUntilOk()
          phase = 'after'
          // Until every user has been served again after the restart (bounded by the test timeout).
          const deadline = Date.now() + 20_000
          while (Date.now() < deadline) {
            const servedAfter = new Set(outcomes.filter((o) => o.phase === 'after' && o.status === 200).map((o) => o.user))
            if (servedAfter.size === USERS) break
            await sleep(100)
          }
          await sleep(500)
        } finally {
          stop = true
          await Promise.all(load)
        }

        const down = outcomes.filter((o) => o.phase === 'down')
        const failed = outcomes.filter((o) => o.status !== 200)
        // 503s while it was down, each the store's error, each reported.
        expect(down.filter((o) => o.status === 503).length).toBeGreaterThan(0)
        expect(new Set(failed.map((o) => `${o.status} ${o.code}`))).toEqual(new Set(['503 SESSION_STORE_UNAVAILABLE']))
        expect(running.events.filter((event) => event.type === 'store.error').length).toBeGreaterThanOrEqual(failed.length)
        // No fresh session: nothing created, no response set another cookie.
        expect(running.events.filter((event) => event.type === 'session.created')).toEqual([])
        expect(outcomes.filter((o) => o.freshCookie)).toEqual([])
        // Every user served again after the restart.
        expect(new Set(outcomes.filter((o) => o.phase === 'after' && o.status === 200).map((o) => o.user)).size).toBe(USERS)
        // No acknowledged write lost: every 200 is in the user's session, which is still logged in.
        for (const user of users) {
          const res = await request(running.server).get('/data').set('Cookie', cookies.get(user)!).expect(200)
          expect(res.body.userId).toBe(user)
          for (const [key, value] of acknowledged.get(user)!) expect(res.body.data[key], `${user} ${key}`).toBe(value)
        }
        expect(unhandled).toEqual([])
        console.info(
          `${name}, down ${downMs} ms: ${outcomes.length} requests, ${down.length} while down (${down.filter((o) => o.status === 503).length} 503), ` +
            `${failed.length} 503 in all, ${logins} logins, ${[...acknowledged.values()].reduce((n, writes) => n + writes.size, 0)} acknowledged writes, all kept`,
        )
      })
    })
  }
})
