// Redis goes away (killed) or stops answering (paused) under a running store: every call fails fast
// as SessionStoreUnavailable, nothing escapes as an unhandled rejection, and the same store serves
// again, with the sessions Redis kept, once Redis is back. Runs a redis-server of its own.
import { createClient } from 'redis'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { SessionStoreUnavailable, type SessionStore } from '@sesame/core'
import { redisStore, type RedisStore } from '@sesame/redis'
import { hasRedis } from '../../../test/support/redis.js'
import { aRecord, anUpdate, newId } from '../../../test/support/store-contract.js'
import { allScripts } from '../src/scripts.js'
import { startOwnRedis, type OwnRedis } from './support/redis-server.js'

const COMMAND_TIMEOUT = 300
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Fails the test if the call hangs: "fails fast" means settling well inside this bound. */
async function settled<T>(call: Promise<T>, bound = 10 * COMMAND_TIMEOUT): Promise<PromiseSettledResult<T>> {
  const hung = sleep(bound).then(() => 'hung' as const)
  const outcome = await Promise.race([call.then((value) => ({ status: 'fulfilled' as const, value }), (reason) => ({ status: 'rejected' as const, reason })), hung])
  if (outcome === 'hung') throw new Error(`store call did not settle within ${bound} ms`)
  return outcome
}

async function eventually<T>(attempt: () => Promise<T>, tries = 100): Promise<T> {
  let last: unknown
  for (let i = 0; i < tries; i++) {
    try {
      return await attempt()
    } catch (error) {
      last = error
      await sleep(100)
    }
  }
  throw last
}

function everyCall(store: SessionStore, id: string): Array<[string, () => Promise<unknown>]> {
  return [
    ['get', async () => store.get(id)],
    ['create', async () => store.create(newId(), aRecord({ userId: 'alice' }))],
    ['update', async () => store.update(id, anUpdate({ set: { during: '"outage"' } }))],
    ['touch', async () => store.touch(id, Date.now(), Date.now() + 60_000)],
    ['destroy', async () => store.destroy(id)],
    ['listByUser', async () => store.listByUser('alice')],
    ['destroyByUser', async () => store.destroyByUser('alice')],
  ]
}

describe.skipIf(!hasRedis)('redisStore when Redis fails', () => {
  let redis: OwnRedis
  let client: ReturnType<typeof createClient>
  let store: RedisStore
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => void unhandled.push(reason)

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled)
    redis = await startOwnRedis()
    client = createClient({ url: redis.url, socket: { reconnectStrategy: () => 100 } })
    client.on('error', () => {})
    await client.connect()
    store = redisStore({ client, commandTimeout: COMMAND_TIMEOUT })
  })
  afterAll(async () => {
    client.destroy()
    await redis.dispose()
    process.off('unhandledRejection', onUnhandled)
  })
  beforeEach(() => {
    unhandled.length = 0
  })
  afterEach(async () => {
    // Let late replies and reconnect attempts play out, then check nothing escaped.
    await sleep(2 * COMMAND_TIMEOUT)
    expect(unhandled).toEqual([])
  })

  it('rejects every call with SessionStoreUnavailable while Redis is down, and serves the same sessions when it is back', async () => {
    const id = newId()
    const record = aRecord({ userId: 'alice', data: { cart: '["apple"]' } })
    await store.create(id, record)

    await redis.kill()
    for (const [operation, call] of everyCall(store, id)) {
      const outcome = await settled(call())
      expect(outcome.status, operation).toBe('rejected')
      const error = (outcome as PromiseRejectedResult).reason
      expect(error, operation).toBeInstanceOf(SessionStoreUnavailable)
      expect(error).toMatchObject({ code: 'SESSION_STORE_UNAVAILABLE', status: 503 })
      expect(String(error.message)).toContain(operation)
      expect(String(error.message)).not.toContain(id)
    }

    await redis.restart()
    const back = await eventually(() => store.get(id))
    expect(back?.data).toEqual(record.data)
    expect((await store.listByUser('alice')).map((s) => s.id)).toContain(id)
    expect(await store.update(id, anUpdate({ set: { after: '"recovery"' } }))).toBe(true)
  })

  it('does not apply, after Redis returns, a write that already failed during the outage', async () => {
    // A client that reconnects slowly, so that the restarted server has the scripts cached again
    // before the client's offline queue would be replayed: only withdrawing the write prevents it.
    const slow = createClient({ url: redis.url, socket: { reconnectStrategy: () => 1_000 } })
    slow.on('error', () => {})
    await slow.connect()
    try {
      const slowStore = redisStore({ client: slow, commandTimeout: COMMAND_TIMEOUT })
      const id = newId()
      await slowStore.create(id, aRecord({ data: { v: '1' } }))
      await redis.kill()
      const outcome = await settled(slowStore.update(id, anUpdate({ set: { v: '2', ghost: '"write"' } })))
      expect(outcome.status).toBe('rejected')
      await redis.restart()
      const loader = createClient({ url: redis.url })
      loader.on('error', () => {})
      await loader.connect()
      for (const script of allScripts) await loader.scriptLoad(script.source)
      loader.destroy()

      const back = await eventually(() => slowStore.get(id))
      await sleep(3 * COMMAND_TIMEOUT)
      expect(back?.data).toEqual({ v: '1' })
      expect((await slowStore.get(id))?.data).toEqual({ v: '1' })
    } finally {
      slow.destroy()
    }
  })

  it('rejects within the command timeout when Redis hangs, and recovers when it answers again', async () => {
    const id = newId()
    const bystander = newId()
    await store.create(id, aRecord({ data: { v: '1' } }))
    await store.create(bystander, aRecord({ data: { untouched: 'true' } }))
    redis.pause()
    try {
      for (const [operation, call] of everyCall(store, id)) {
        const outcome = await settled(call())
        expect(outcome.status, operation).toBe('rejected')
        expect((outcome as PromiseRejectedResult).reason, operation).toBeInstanceOf(SessionStoreUnavailable)
      }
    } finally {
      redis.resume()
    }
    // Commands Redis had already received may still run once it resumes (the usual ambiguity of a
    // timeout, see the README); other sessions are untouched and the store serves again.
    expect((await eventually(() => store.get(bystander)))?.data).toEqual({ untouched: 'true' })
    expect(await store.touch(bystander, Date.now(), Date.now() + 60_000)).toBe(true)
    const fresh = newId()
    expect(await store.create(fresh, aRecord({ data: { after: 'true' } }))).toBe(true)
    expect((await store.get(fresh))?.data).toEqual({ after: 'true' })
  })

  it('fails fast, without crashing, when the client was never connected or has been closed', async () => {
    const closed = createClient({ url: redis.url })
    closed.on('error', () => {})
    const neverConnected = redisStore({ client: closed, commandTimeout: COMMAND_TIMEOUT })
    const outcome = await settled(neverConnected.get(newId()))
    expect(outcome.status).toBe('rejected')
    expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(SessionStoreUnavailable)
  })
})
