// Every server the bench measures. Each row serves the same route: read a counter from the session,
// add one, write it back, respond with the number. Bare rows keep the counter in a variable so the
// response is the same size and the only difference between a bare row and its session rows is the
// session library.
//
// A row's `build()` runs inside the pinned server process (server.mjs) and returns a node:http
// request listener plus an optional `close()`. A row whose sesame package is not built yet throws
// `Unavailable`, which the harness reports as "n/a" instead of failing the whole run.

import { existsSync } from 'node:fs'
import { Readable } from 'node:stream'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const SECRET = 'bench-secret-that-is-at-least-32-characters-long'

// Capacity of sesame's memory store in every row (the scale case sets its own). At the default 10,000 a
// round of the new-session case (1.5 s of warm-up, 2 s measured, a fresh process) filled the store in
// the middle of the measured window: evictions, and with audit on the session.evicted event, started
// there, the first evictions deoptimized the code they ran through, and TurboFan recompiled much of the
// request path inside the window (~80 compilations against ~13 without audit, --trace-opt). At 2,000 the
// store is full within the warm-up, so the window measures the steady state of a flood of new sessions
// at capacity: every creation also evicts one (two audit events per request with the sink on).
export const BENCH_STORE_MAX = 2_000
const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

export class Unavailable extends Error {}

/**
 * Import a sesame package: through the workspace dependency when bench's package.json lists it,
 * else straight from packages/<dir>/dist (a package the lead merged before bench's manifest caught
 * up). Missing package or missing build -> Unavailable.
 */
export async function importSesame(name) {
  const dir = name.replace('@sesame/', '')
  // SESAME_BENCH_PACKAGES=/path/to/packages: measure another build of the packages (e.g. a candidate
  // change in a copy of the tree) with the same harness, for an A/B run.
  const override = process.env.SESAME_BENCH_PACKAGES
  if (override) {
    const dist = `${override.replace(/\/$/, '')}/${dir}/dist/index.js`
    if (!existsSync(dist)) throw new Unavailable(`${name} not built in ${override}`)
    return import(pathToFileURL(dist).href)
  }
  try {
    return await import(name)
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' && error?.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw error
    // Only fall through when it is this package that is missing, not one of its own imports.
    if (!String(error.message).includes(name) && !String(error.message).includes(`packages/${dir}/`)) throw error
  }
  if (!existsSync(`${repoRoot}packages/${dir}/package.json`)) throw new Unavailable(`${name} not built yet`)
  const dist = `${repoRoot}packages/${dir}/dist/index.js`
  if (!existsSync(dist)) throw new Unavailable(`${name} not built yet (run pnpm build)`)
  return import(pathToFileURL(dist).href)
}

export function redisUrl() {
  return process.env.REDIS_URL || 'redis://127.0.0.1:6379'
}

// Redis keys this bench may create; nothing outside these prefixes is ever touched.
export const REDIS_PREFIX_SESAME = 'sesame-bench:sesame:'
export const REDIS_PREFIX_CONNECT = 'sesame-bench:connect-redis:'

/** A node-redis client for the bench's Redis rows and memory case (fails as Unavailable when none answers). */
export async function connectRedis() {
  const { createClient } = await import('redis')
  const client = createClient({ url: redisUrl(), socket: { connectTimeout: 2000, reconnectStrategy: false } })
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (error) {
    throw new Unavailable(`no Redis at ${redisUrl()} (${error.message})`)
  }
  return client
}

/** Delete only the keys under `prefix` (SCAN + UNLINK; never FLUSHDB: the Redis may be shared). */
export async function deleteKeys(client, prefix) {
  let deleted = 0
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    const batch = Array.isArray(keys) ? keys : [keys]
    if (batch.length) deleted += await client.unlink(batch)
  }
  return deleted
}

// ---------------------------------------------------------------- Express

async function express() {
  return (await import('express')).default
}

function expressCounterRoute(app) {
  app.get('/', (req, res) => {
    req.session.n = (req.session.n || 0) + 1
    res.send(String(req.session.n))
  })
  return app
}

async function expressSesame(extra) {
  const [{ session }, { memoryStore }] = await Promise.all([importSesame('@sesame/express'), importSesame('@sesame/core')])
  const app = (await express())()
  const store = extra.store ?? memoryStore({ max: BENCH_STORE_MAX })
  app.use(session({ secret: SECRET, ...extra, store }))
  return expressCounterRoute(app)
}

// ---------------------------------------------------------------- Koa

async function koa() {
  return (await import('koa')).default
}

function koaCounterRoute(app) {
  app.use((ctx) => {
    ctx.session.n = (ctx.session.n || 0) + 1
    ctx.body = String(ctx.session.n)
  })
  return app
}

// ---------------------------------------------------------------- node:http <-> Request/Response

/**
 * Serve a Web `(Request) => Response` handler from node:http: the same translation a Next.js
 * server, Hono's node adapter or similar does before a route handler runs.
 */
export function webBridge(handler) {
  return async (req, res) => {
    try {
      const headers = new Headers()
      for (const [name, value] of Object.entries(req.headers)) {
        if (Array.isArray(value)) for (const one of value) headers.append(name, one)
        else if (value !== undefined) headers.set(name, value)
      }
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
      const request = new Request(`http://${req.headers.host ?? '127.0.0.1'}${req.url}`, {
        method: req.method,
        headers,
        ...(hasBody ? { body: Readable.toWeb(req), duplex: 'half' } : {}),
      })
      const response = await handler(request, { params: Promise.resolve({}) })
      res.statusCode = response.status
      for (const [name, value] of response.headers) if (name !== 'set-cookie') res.setHeader(name, value)
      const cookies = response.headers.getSetCookie()
      if (cookies.length) res.setHeader('set-cookie', cookies)
      res.end(response.body ? Buffer.from(await response.arrayBuffer()) : undefined)
    } catch (error) {
      res.statusCode = 500
      res.end(String(error?.message ?? error))
    }
  }
}

// ---------------------------------------------------------------- the rows

/**
 * id: stable name used on the command line and in results.
 * bare: the row whose CPU cost is subtracted to get this row's session overhead.
 * peers: rows this one is compared with (ratios in the report).
 */
export const ROWS = [
  // Express
  {
    id: 'express-bare', group: 'Express', label: 'bare Express', kind: 'bare',
    async build() {
      const app = (await express())()
      let n = 0
      app.get('/', (req, res) => { res.send(String(++n)) })
      return { handler: app }
    },
  },
  {
    id: 'express-sesame', group: 'Express', label: 'Express + sesame (memory store)', kind: 'sesame', bare: 'express-bare',
    peers: ['express-session', 'express-session-memorystore'],
    async build() {
      return { handler: await expressSesame({}) }
    },
  },
  {
    id: 'express-session', group: 'Express', label: 'express-session (MemoryStore)', kind: 'peer', bare: 'express-bare',
    async build() {
      const session = (await import('express-session')).default
      const app = (await express())()
      app.use(session({ secret: SECRET, resave: false, saveUninitialized: false }))
      return { handler: expressCounterRoute(app) }
    },
  },
  {
    id: 'express-session-memorystore', group: 'Express', label: 'express-session + memorystore', kind: 'peer', bare: 'express-bare',
    async build() {
      const session = (await import('express-session')).default
      const MemoryStore = (await import('memorystore')).default(session)
      const store = new MemoryStore({ checkPeriod: 60_000 })
      const app = (await express())()
      app.use(session({ secret: SECRET, resave: false, saveUninitialized: false, store }))
      return { handler: expressCounterRoute(app), close: () => store.stopInterval?.() }
    },
  },

  // Koa
  {
    id: 'koa-bare', group: 'Koa', label: 'bare Koa', kind: 'bare',
    async build() {
      const app = new (await koa())()
      let n = 0
      app.use((ctx) => { ctx.body = String(++n) })
      return { handler: app.callback() }
    },
  },
  {
    id: 'koa-sesame', group: 'Koa', label: 'Koa + sesame (memory store)', kind: 'sesame', bare: 'koa-bare',
    peers: ['koa-session-cookie', 'koa-session-store'],
    async build() {
      const [{ session }, { memoryStore }] = await Promise.all([importSesame('@sesame/koa'), importSesame('@sesame/core')])
      const app = new (await koa())()
      app.use(session({ secret: SECRET, store: memoryStore({ max: BENCH_STORE_MAX }) }))
      return { handler: koaCounterRoute(app).callback() }
    },
  },
  {
    id: 'koa-session-cookie', group: 'Koa', label: 'koa-session (cookie mode)', kind: 'peer', bare: 'koa-bare',
    async build() {
      const session = (await import('koa-session')).default
      const app = new (await koa())()
      app.keys = [SECRET]
      app.use(session({ signed: true }, app))
      return { handler: koaCounterRoute(app).callback() }
    },
  },
  {
    id: 'koa-session-store', group: 'Koa', label: 'koa-session (external Map store)', kind: 'peer', bare: 'koa-bare',
    async build() {
      const session = (await import('koa-session')).default
      const app = new (await koa())()
      app.keys = [SECRET]
      const sessions = new Map()
      const store = {
        async get(key) { return sessions.get(key) },
        async set(key, value) { sessions.set(key, value) },
        async destroy(key) { sessions.delete(key) },
      }
      app.use(session({ signed: true, store }, app))
      return { handler: koaCounterRoute(app).callback() }
    },
  },

  // node:http and Web Request/Response
  {
    id: 'node-bare', group: 'node:http', label: 'bare node:http', kind: 'bare',
    async build() {
      let n = 0
      return { handler: (req, res) => { res.end(String(++n)) } }
    },
  },
  {
    id: 'node-web-bare', group: 'node:http', label: 'node:http + Request/Response bridge (no session)', kind: 'bare',
    async build() {
      let n = 0
      return { handler: webBridge(async () => new Response(String(++n))) }
    },
  },
  {
    id: 'node-sesame', group: 'node:http', label: 'sesame withSession (@sesame/next) via the bridge', kind: 'sesame', bare: 'node-web-bare',
    peers: ['iron-session'],
    async build() {
      const [{ nextSession }, { memoryStore }] = await Promise.all([importSesame('@sesame/next'), importSesame('@sesame/core')])
      const sessions = nextSession({ secret: SECRET, store: memoryStore({ max: BENCH_STORE_MAX }) })
      const route = sessions.withSession(async (req, { session }) => {
        session.n = (session.n || 0) + 1
        return new Response(String(session.n))
      })
      return { handler: webBridge(route) }
    },
  },
  {
    id: 'iron-session', group: 'node:http', label: 'iron-session (sealed cookie) on node:http', kind: 'peer', bare: 'node-bare',
    async build() {
      const { getIronSession } = await import('iron-session')
      const options = { password: SECRET, cookieName: 'iron' }
      return {
        handler: async (req, res) => {
          const session = await getIronSession(req, res, options)
          session.n = (session.n || 0) + 1
          await session.save()
          res.end(String(session.n))
        },
      }
    },
  },

  // Redis: a store shared by several processes
  {
    id: 'express-sesame-redis', group: 'Express on Redis', label: 'Express + sesame (@sesame/redis)', kind: 'sesame', bare: 'express-bare',
    peers: ['express-session-redis'], redis: true,
    async build() {
      const { redisStore } = await importSesame('@sesame/redis')
      const client = await connectRedis()
      await deleteKeys(client, REDIS_PREFIX_SESAME)
      const handler = await expressSesame({ store: redisStore({ client, prefix: REDIS_PREFIX_SESAME }) })
      return {
        handler,
        async close() {
          await deleteKeys(client, REDIS_PREFIX_SESAME)
          await client.quit()
        },
      }
    },
  },
  {
    id: 'express-session-redis', group: 'Express on Redis', label: 'express-session + connect-redis', kind: 'peer', bare: 'express-bare', redis: true,
    async build() {
      const session = (await import('express-session')).default
      const { RedisStore } = await import('connect-redis')
      const client = await connectRedis()
      await deleteKeys(client, REDIS_PREFIX_CONNECT)
      const app = (await express())()
      app.use(session({ secret: SECRET, resave: false, saveUninitialized: false, store: new RedisStore({ client, prefix: REDIS_PREFIX_CONNECT }) }))
      return {
        handler: expressCounterRoute(app),
        async close() {
          await deleteKeys(client, REDIS_PREFIX_CONNECT)
          await client.quit()
        },
      }
    },
  },

  // Audit trail
  {
    id: 'express-sesame-audit', group: 'Express + audit', label: 'Express + sesame + audit file sink', kind: 'sesame', bare: 'express-bare',
    peers: ['express-sesame', 'express-session'],
    // Measured right before Express + sesame (its "off" row, issue 4's ratio), not at the end of a round:
    // the rows a ratio compares should run back to back (run.mjs).
    measureBefore: 'express-sesame',
    async build({ tmpDir }) {
      const { fileSink } = await importSesame('@sesame/audit-log')
      const sink = fileSink({ path: `${tmpDir}/audit.jsonl`, keyFile: `${tmpDir}/audit.key` })
      const handler = await expressSesame({ audit: { sinks: [sink] } })
      return { handler, close: () => sink.close?.() }
    },
  },
]

export const ROW_BY_ID = new Map(ROWS.map((row) => [row.id, row]))
