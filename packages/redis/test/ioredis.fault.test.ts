// redisStore on ioredis when Redis goes away: calls fail within commandTimeout as
// SessionStoreUnavailable, a write that failed that way does not apply when Redis returns (ioredis'
// offline queue would send it on reconnect; the store keeps its commands back until the client is
// ready and drops those of expired calls), and the same store serves the same sessions once Redis is
// back. Runs a redis-server of its own (never the shared one).
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SessionStoreUnavailable } from '@sesame/core'
import { redisStore, type RedisStore } from '@sesame/redis'
import { hasRedis } from '../../../test/support/redis.js'
import { aRecord, anUpdate, newId } from '../../../test/support/store-contract.js'
import { allScripts } from '../src/scripts.js'
import { startOwnRedis, type OwnRedis } from './support/redis-server.js'

const COMMAND_TIMEOUT = 300
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(!hasRedis)('redisStore on ioredis when Redis fails', () => {
  let redis: OwnRedis
  let client: Redis
  let store: RedisStore
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => void unhandled.push(reason)

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled)
    redis = await startOwnRedis()
    // Reconnects half a second apart: time for the test to prepare the restarted server first.
    client = new Redis(redis.url, { retryStrategy: () => 500 })
    client.on('error', () => {})
    await new Promise((resolve) => client.once('ready', resolve))
    store = redisStore({ client, commandTimeout: COMMAND_TIMEOUT })
  })
  afterAll(async () => {
    client.disconnect()
    await redis.dispose()
    process.off('unhandledRejection', onUnhandled)
  })

  it('rejects calls while Redis is down, never applies them later, and serves the same session when it is back', async () => {
    const id = newId()
    await store.create(id, aRecord({ userId: 'alice', data: { cart: '["apple"]' } }))

    await redis.kill()
    await sleep(50)
    for (const call of [
      () => store.get(id),
      () => store.update(id, anUpdate({ set: { during: '"outage"' } })),
      () => store.create(newId(), aRecord()),
      () => store.listByUser('alice'),
    ]) {
      const started = Date.now()
      const outcome = await call().then(() => 'resolved', (error: unknown) => error)
      expect(outcome).toBeInstanceOf(SessionStoreUnavailable)
      expect(Date.now() - started).toBeLessThan(4 * COMMAND_TIMEOUT)
    }

    await redis.restart()
    // A restarted Redis has no scripts cached, so a late EVALSHA would only get NOSCRIPT; load them
    // (as a busy app's other processes would) before the store's client reconnects, so that a command
    // still queued in ioredis would really run.
    const loader = new Redis(redis.url)
    for (const script of allScripts) await loader.script('LOAD', script.source)
    loader.disconnect()
    let back: Awaited<ReturnType<RedisStore['get']>>
    for (let i = 0; ; i++) {
      back = await store.get(id).catch(() => undefined)
      if (back || i > 100) break
      await sleep(100)
    }
    // Past the reconnect: anything ioredis had queued has been sent by now.
    await sleep(300)
    back = await store.get(id)
    expect(back?.data).toEqual({ cart: '["apple"]' })
    expect(back?.userId).toBe('alice')
    expect(await client.dbsize()).toBe(2) // the session and alice's index, nothing the outage tried to write
    expect(unhandled).toEqual([])
  })
})
