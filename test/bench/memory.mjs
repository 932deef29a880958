// The memory case, run with --expose-gc: bytes per session held, for every store a bench row uses.
// For each store: a full GC, then `count` new sessions holding { n: 1 }, then (sesame) every one of them
// back once with its cookie, then a full GC again; bytes per session = heap growth / sessions held.
// The heap before the store is built is the baseline, so what a store allocates up front (lru-cache's
// arrays sized by `max`) is counted too: at capacity, that is part of what each session costs.
//
// sesame runs through its engine (load + commit, as a request would), so the record, its store key and
// the verified-cookie cache (filled by the return visit) are all in the figure. The peers' stores are
// given the session their middleware would store for the same route (express-session's session with
// its cookie, koa-session's JSON with _expire/_maxAge). Rows on Redis keep their sessions in Redis:
// their Node heap per session is reported, and Redis's own `used_memory` growth per session next to it.
// Driven in-process, without HTTP: the server processes of the bench rows hold the same objects.

import { randomBytes, randomUUID } from 'node:crypto'
import { connectRedis, importSesame, redisUrl, SECRET, Unavailable } from './rows.mjs'

const { counts } = JSON.parse(process.argv[2])
const PREFIX_SESAME = 'sesame-bench:memory:sesame:'
const PREFIX_CONNECT = 'sesame-bench:memory:connect-redis:'
const DAY = 24 * 60 * 60 * 1000

/** The JavaScript heap, and memory outside it held by ArrayBuffers (lru-cache's typed arrays), after a full GC. */
function memoryAfterGc() {
  globalThis.gc()
  globalThis.gc()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return { heapUsed, arrayBuffers }
}

async function redisUsedMemory(client) {
  const info = await client.info('memory')
  return Number(/used_memory:(\d+)/.exec(info)?.[1])
}

async function deleteKeys(client, prefix) {
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    const batch = Array.isArray(keys) ? keys : [keys]
    if (batch.length) await client.unlink(batch)
  }
}

/**
 * Cookies kept outside the JavaScript heap (in one Buffer, fixed slots), so that the harness's own list
 * of cookies does not count as the store's memory.
 */
class CookieJar {
  static SLOT = 512
  constructor(count) {
    this.bytes = Buffer.alloc(count * CookieJar.SLOT)
  }
  put(index, value) {
    if (value.length >= CookieJar.SLOT) throw new Error('cookie longer than a slot')
    this.bytes.write(value.padEnd(CookieJar.SLOT, ' '), index * CookieJar.SLOT, 'latin1')
  }
  get(index) {
    return this.bytes.toString('latin1', index * CookieJar.SLOT, (index + 1) * CookieJar.SLOT).trimEnd()
  }
}

const requestInfo = (cookie) => ({ cookie, remoteAddress: '127.0.0.1', encrypted: false, userAgent: undefined, method: 'GET', path: '/' })

/** sesame's engine over `store`: a new session per call, and each one back once with its cookie. */
async function sesameSessions(count, store, label) {
  const { createEngine } = await importSesame('@sesame/core')
  const engine = createEngine({ secret: SECRET, store })
  const jar = new CookieJar(count)
  return {
    label,
    engine,
    async create(index) {
      const state = await engine.load(requestInfo(undefined))
      state.session.n = 1
      const setCookie = await engine.commit(state)
      jar.put(index, setCookie.slice(0, setCookie.indexOf(';')))
    },
    async revisit(index) {
      const state = await engine.load(requestInfo(jar.get(index)))
      if (state.session.n !== 1) throw new Error(`${label}: session ${index} came back without its data`)
      await engine.commit(state)
    },
    jarBytes: jar.bytes.length,
    close: () => engine.close(),
  }
}

const STORES = [
  {
    id: 'sesame-memory',
    label: 'sesame memoryStore({ max: count })',
    async build(count) {
      const { memoryStore } = await importSesame('@sesame/core')
      const store = memoryStore({ max: count })
      const sessions = await sesameSessions(count, store, this.label)
      return { ...sessions, held: () => store.size, close: async () => { await sessions.close(); store.close() } }
    },
  },
  {
    id: 'sesame-redis',
    label: 'sesame on Redis (@sesame/redis)',
    redis: true,
    async build(count) {
      const { redisStore } = await importSesame('@sesame/redis')
      const client = await connectRedis()
      await deleteKeys(client, PREFIX_SESAME)
      const store = redisStore({ client, prefix: PREFIX_SESAME })
      const sessions = await sesameSessions(count, store, this.label)
      let created = 0
      return {
        ...sessions,
        client,
        async create(index) { await sessions.create(index); created++ },
        held: () => created,
        async close() {
          await sessions.close()
          await deleteKeys(client, PREFIX_SESAME)
          await client.quit()
        },
      }
    },
  },
  {
    id: 'express-session',
    label: "express-session's MemoryStore",
    async build() {
      const session = (await import('express-session')).default
      const store = new session.MemoryStore()
      const set = (id, value) => new Promise((resolve, reject) => store.set(id, value, (error) => (error ? reject(error) : resolve())))
      return {
        create: () => set(randomBytes(24).toString('base64url'), { cookie: { originalMaxAge: null, expires: null, secure: false, httpOnly: true, path: '/' }, n: 1 }),
        held: () => Object.keys(store.sessions).length,
        close() {},
      }
    },
  },
  {
    id: 'express-session-memorystore',
    label: 'memorystore',
    async build() {
      const session = (await import('express-session')).default
      const MemoryStore = (await import('memorystore')).default(session)
      const store = new MemoryStore({ checkPeriod: DAY })
      const set = (id, value) => new Promise((resolve, reject) => store.set(id, value, (error) => (error ? reject(error) : resolve())))
      let created = 0
      return {
        async create() {
          await set(randomBytes(24).toString('base64url'), { cookie: { originalMaxAge: null, expires: null, secure: false, httpOnly: true, path: '/' }, n: 1 })
          created++
        },
        held: () => created,
        close: () => store.stopInterval?.(),
      }
    },
  },
  {
    id: 'koa-session-store',
    label: 'koa-session with a Map store (the bench row)',
    async build() {
      const sessions = new Map()
      return {
        create: () => sessions.set(randomUUID(), { n: 1, _expire: Date.now() + DAY, _maxAge: DAY }),
        held: () => sessions.size,
        close() {},
      }
    },
  },
  {
    id: 'express-session-redis',
    label: 'connect-redis',
    redis: true,
    async build() {
      const { RedisStore } = await import('connect-redis')
      const client = await connectRedis()
      await deleteKeys(client, PREFIX_CONNECT)
      const store = new RedisStore({ client, prefix: PREFIX_CONNECT })
      const set = (id, value) => new Promise((resolve, reject) => store.set(id, value, (error) => (error ? reject(error) : resolve())))
      let created = 0
      return {
        client,
        async create() {
          await set(randomBytes(24).toString('base64url'), { cookie: { originalMaxAge: DAY, expires: new Date(Date.now() + DAY), secure: false, httpOnly: true, path: '/' }, n: 1 })
          created++
        },
        held: () => created,
        async close() {
          await deleteKeys(client, PREFIX_CONNECT)
          await client.quit()
        },
      }
    },
  },
]

/** Build a store, fill it with `count` sessions (and bring each back once), measure, close. */
async function measure(kind, count) {
  const entry = { id: kind.id, label: kind.label.replace('count', count.toLocaleString('en')), count, redis: kind.redis === true }
  let built
  try {
    const baseline = memoryAfterGc()
    built = await kind.build(count)
    const redisBefore = built.client ? await redisUsedMemory(built.client) : undefined
    for (let index = 0; index < count; index++) await built.create(index)
    if (built.revisit) for (let index = 0; index < count; index++) await built.revisit(index)
    const after = memoryAfterGc()
    entry.held = built.held()
    entry.heapBytes = after.heapUsed - baseline.heapUsed
    entry.bytesPerSession = entry.heapBytes / entry.held
    // Outside the heap, less the harness's own cookie jar.
    entry.offHeapBytesPerSession = Math.max(0, after.arrayBuffers - baseline.arrayBuffers - (built.jarBytes ?? 0)) / entry.held
    entry.revisited = built.revisit !== undefined
    if (built.client) entry.redisBytesPerSession = ((await redisUsedMemory(built.client)) - redisBefore) / entry.held
  } catch (error) {
    entry.unavailable = error instanceof Unavailable ? error.message : String(error?.message ?? error)
  } finally {
    await built?.close()
    built = undefined
  }
  return entry
}

// Each store once at a small size first, unmeasured: the modules it loads, their compiled code and
// the engine's caches of compiled shapes are then in the baseline, not charged to its sessions.
const WARM_UP = 2_000
const results = []
for (const kind of STORES) {
  const warm = await measure(kind, WARM_UP)
  if (warm.unavailable) {
    for (const count of counts) results.push({ ...warm, label: kind.label.replace('count', count.toLocaleString('en')), count })
    continue
  }
  for (const count of counts) results.push(await measure(kind, count))
}

process.send?.({ type: 'memory', result: { counts, stores: results } })
process.on('message', (message) => { if (message?.type === 'exit') process.exit(0) })
if (!process.send) console.log(JSON.stringify(results, null, 2))
