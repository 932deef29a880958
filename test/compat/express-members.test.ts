// The express-session members a migrated app calls, over real HTTP on @sesame/express with a real
// memory store: callbacks that are always called, req.sessionID, req.session = null, the cookie view,
// remember-me bounded on the server, cookie.path scoping, regenerate(cb)'s empty session.
import { createServer, type Server } from 'node:http'
import express, { type NextFunction, type Request, type Response } from 'express'
import request from 'supertest'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { memoryStore, storeKey, type MemoryStore } from '@sesame/core'
import { session, type ExpressSessionOptions } from '@sesame/express'
import { FaultyStore } from '../support/faulty-store.js'

const secret = 'express-members-secret-0123456789-abcdef'
const DAY = 86_400_000
const open: Array<{ server: Server; close(): Promise<void> }> = []

afterEach(async () => {
  for (const entry of open.splice(0)) {
    await new Promise<void>((resolve) => entry.server.close(() => resolve()))
    await entry.close()
  }
  vi.useRealTimers()
  vi.restoreAllMocks()
})

async function serve(routes: (app: express.Express) => void, options: Partial<ExpressSessionOptions> = {}, store: MemoryStore | FaultyStore = memoryStore()) {
  const app = express()
  const sessions = session({ secret, store, ...options } as ExpressSessionOptions)
  app.use(sessions)
  routes(app)
  app.use((err: any, _req: Request, res: Response, _next: NextFunction) => res.status(err.status ?? 500).json({ code: err.code ?? null, message: String(err.message) }))
  const server = createServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  open.push({ server, close: () => sessions.close() })
  return { server, store, engine: sessions.engine }
}

function sessionCookie(res: request.Response, name = 'sid'): string | undefined {
  return ((res.headers['set-cookie'] as unknown as string[] | undefined) ?? []).find((line) => line.startsWith(name + '='))
}
const pair = (line: string) => line.split(';')[0]!

describe('callbacks (express-session style) are always called', () => {
  it('save(cb), regenerate(cb), reload(cb) and destroy(cb) call back; a store failure reaches cb(err) instead of hanging', async () => {
    const faulty = new FaultyStore(memoryStore())
    const { server } = await serve((app) => {
      app.get('/cb', (req: any, res, next) => {
        req.session.n = 1
        req.session.save((err?: unknown) => {
          if (err) return next(err)
          req.session.reload((err?: unknown) => {
            if (err) return next(err)
            req.session.regenerate((err?: unknown) => {
              if (err) return next(err)
              req.session.destroy((err?: unknown) => (err ? next(err) : res.json({ ok: true })))
            })
          })
        })
      })
      app.get('/save', (req: any, _res, next) => {
        req.session.n = 2
        req.session.save((err?: unknown) => {
          callbackGot = (err as { code?: string } | undefined)?.code
          next(err)
        })
      })
    }, {}, faulty)
    let callbackGot: string | undefined
    expect((await request(server).get('/cb')).body).toEqual({ ok: true })
    faulty.fail('create')
    const failed = await request(server).get('/save').timeout(5_000)
    expect(callbackGot).toBe('SESSION_STORE_UNAVAILABLE')
    expect(failed.status).toBe(503)
  })

  it('the same methods without a callback return promises; a callback that throws is reported, not a crash', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const { server } = await serve((app) => {
      app.get('/promise', async (req: any, res) => {
        req.session.n = 1
        const saved = req.session.save()
        expect(saved).toBeInstanceOf(Promise)
        await saved
        res.json({ returnsSession: req.session.touch() === req.session })
      })
      app.get('/throws', (req: any, res) => {
        req.session.n = 2
        req.session.save(() => {
          res.json({ called: true })
          throw new Error('app bug in a callback')
        })
      })
    })
    expect((await request(server).get('/promise')).body).toEqual({ returnsSession: true })
    expect((await request(server).get('/throws')).body).toEqual({ called: true })
    await vi.waitFor(() => expect(errors).toHaveBeenCalledWith('sesame: a session callback threw:', expect.any(Error)))
  })
})

describe('req.sessionID, req.session = null, regenerate(cb)', () => {
  it('req.sessionID is the session id and follows regenerate', async () => {
    const { server } = await serve((app) => {
      app.get('/', async (req: any, res) => {
        const before = req.sessionID
        const same = before === req.session.id
        req.session.x = 1
        await req.session.regenerate()
        res.json({ same, string: typeof before === 'string' && before.length >= 20, changed: req.sessionID !== before, follows: req.sessionID === req.session.id })
      })
    })
    expect((await request(server).get('/')).body).toEqual({ same: true, string: true, changed: true, follows: true })
  })

  it('req.session = null destroys the session: gone from the store, cookie cleared, the old cookie gets a fresh session', async () => {
    const store = memoryStore()
    const { server } = await serve((app) => {
      app.get('/set', (req: any, res) => {
        req.session.user = 'ann'
        res.json({ ok: true })
      })
      app.get('/null', (req: any, res) => {
        req.session = null
        res.json({ ok: true })
      })
      app.get('/who', (req: any, res) => res.json({ user: req.session.user ?? null }))
    }, {}, store)
    const cookie = pair(sessionCookie(await request(server).get('/set'))!)
    expect(store.size).toBe(1)
    const cleared = await request(server).get('/null').set('Cookie', cookie)
    expect(sessionCookie(cleared)).toMatch(/^sid=; Expires=Thu, 01 Jan 1970/)
    expect(store.size).toBe(0)
    expect((await request(server).get('/who').set('Cookie', cookie)).body).toEqual({ user: null })
  })

  it('req.session = { ... } replaces the data of the same session (as ctx.session = { ... } on Koa); anything else is a 500 that changes nothing', async () => {
    const store = memoryStore()
    const { server } = await serve((app) => {
      app.get('/seed', (req: any, res) => {
        req.session.user = 'ann'
        req.session.cart = ['apple']
        res.json({ id: req.sessionID })
      })
      app.get('/replace', (req: any, res) => {
        req.session = { user: 'bob' }
        req.session.theme = 'dark' // written after the assignment, before the response: kept too
        res.json({ ok: true })
      })
      app.get('/string', (req: any, res) => {
        req.session = 'bob'
        res.json({ ok: true })
      })
      app.get('/who', (req: any, res) => res.json({ id: req.sessionID, user: req.session.user ?? null, cart: req.session.cart ?? null, theme: req.session.theme ?? null }))
    }, {}, store)
    const seeded = await request(server).get('/seed')
    const cookie = pair(sessionCookie(seeded)!)
    const replaced = await request(server).get('/replace').set('Cookie', cookie)
    expect(replaced.status).toBe(200)
    expect(sessionCookie(replaced)).toBeUndefined() // same session, same cookie
    expect((await request(server).get('/who').set('Cookie', cookie)).body).toEqual({ id: seeded.body.id, user: 'bob', cart: null, theme: 'dark' })
    expect(store.size).toBe(1)

    const refused = await request(server).get('/string').set('Cookie', cookie)
    expect(refused.status).toBe(500)
    expect(refused.body.message).toMatch(/req\.session can only be set to null .* or an object/)
    expect((await request(server).get('/who').set('Cookie', cookie)).body).toEqual({ id: seeded.body.id, user: 'bob', cart: null, theme: 'dark' })
  })

  it("regenerate(cb) is express-session's (a new, empty session); await regenerate() is sesame's (same data)", async () => {
    const { server } = await serve((app) => {
      app.get('/seed', (req: any, res) => {
        req.session.cart = ['apple']
        res.json({})
      })
      app.get('/cb', (req: any, res, next) => req.session.regenerate((err?: unknown) => (err ? next(err) : res.json({ cart: req.session.cart ?? null }))))
      app.get('/promise', async (req: any, res) => {
        await req.session.regenerate()
        res.json({ cart: req.session.cart ?? null })
      })
    })
    const cookie = pair(sessionCookie(await request(server).get('/seed'))!)
    expect((await request(server).get('/promise').set('Cookie', cookie)).body).toEqual({ cart: ['apple'] })
    const again = pair(sessionCookie(await request(server).get('/seed'))!)
    expect((await request(server).get('/cb').set('Cookie', again)).body).toEqual({ cart: null })
  })
})

describe('saveUninitialized: true after destroy', () => {
  it('destroy(cb) leaves no new empty session behind: the response only clears the cookie (as express-session stores nothing)', async () => {
    const store = memoryStore()
    const { server } = await serve((app) => {
      app.get('/', (req: any, res) => res.json({ n: (req.session.n = 1) }))
      app.get('/logout', (req: any, res, next) => req.session.destroy((err?: unknown) => (err ? next(err) : res.json({ out: true }))))
    }, { saveUninitialized: true }, store)
    const cookie = pair(sessionCookie(await request(server).get('/'))!)
    const out = await request(server).get('/logout').set('Cookie', cookie)
    expect(out.headers['set-cookie']).toHaveLength(1)
    expect(sessionCookie(out)).toMatch(/^sid=; Expires=Thu, 01 Jan 1970/)
    expect(store.size).toBe(0)
  })
})

describe('req.session.cookie', () => {
  it('shows the cookie as it is sent; its attributes cannot change per request (typed error)', async () => {
    const { server } = await serve((app) => {
      app.get('/', (req: any, res) => res.json(req.session.cookie))
      app.get('/secure', (req: any) => {
        req.session.cookie.secure = false
      })
      app.get('/assign', (req: any) => {
        req.session.cookie = {}
      })
    }, { cookie: { path: '/', sameSite: 'strict', domain: '127.0.0.1' } })
    expect((await request(server).get('/')).body).toEqual({ originalMaxAge: null, expires: null, path: '/', domain: '127.0.0.1', secure: false, httpOnly: true, sameSite: 'strict', partitioned: false })
    const secure = await request(server).get('/secure')
    expect(secure.status).toBe(500)
    expect(secure.body.code).toBe('SESSION_COMPAT_UNSUPPORTED')
    expect(secure.body.message).toMatch(/set `cookie.secure` in the session\(\) options/)
    expect((await request(server).get('/assign')).body.message).toMatch(/session\.cookie is reserved/)
  })
})

describe('remember me', () => {
  it('cookie.maxAge on one session: a persistent cookie and a store lifetime that long, the others unchanged', async () => {
    const store = memoryStore()
    const { server, engine } = await serve((app) => {
      app.post('/login', (req: any, res, next) => {
        req.session.regenerate((err?: unknown) => {
          if (err) return next(err)
          req.session.user = 'ann'
          if (req.query.remember) req.session.cookie.maxAge = 7 * DAY
          req.session.save((err?: unknown) => (err ? next(err) : res.json({ maxAge: req.session.cookie.maxAge, originalMaxAge: req.session.cookie.originalMaxAge })))
        })
      })
    }, {}, store)
    const plain = await request(server).post('/login')
    expect(sessionCookie(plain)).not.toMatch(/Max-Age|Expires/)
    expect(plain.body).toEqual({ maxAge: null, originalMaxAge: null })
    const remembered = await request(server).post('/login?remember=1')
    expect(sessionCookie(remembered)).toMatch(/; Max-Age=(604799|604800); Expires=/)
    expect(remembered.body.originalMaxAge).toBe(7 * DAY)
    expect(remembered.body.maxAge).toBeGreaterThan(7 * DAY - 5_000)
    expect(engine.options.rememberMaxAge).toBe(30 * DAY)
    expect(store.size).toBe(2)
  })

  it('remembering a stored session moves it to a new id: the old cookie stops working, the data stays', async () => {
    const { server } = await serve((app) => {
      app.get('/seed', (req: any, res) => {
        req.session.cart = ['apple']
        res.json({})
      })
      app.get('/remember', (req: any, res) => {
        const before = req.sessionID
        req.session.cookie.maxAge = 7 * DAY
        req.session.save((err?: unknown) => res.json({ moved: !err && req.sessionID !== before }))
      })
      app.get('/cart', (req: any, res) => res.json({ cart: req.session.cart ?? null, remembered: req.session.cookie.maxAge !== null }))
    })
    const old = pair(sessionCookie(await request(server).get('/seed'))!)
    const remembered = await request(server).get('/remember').set('Cookie', old)
    expect(remembered.body).toEqual({ moved: true })
    const next = pair(sessionCookie(remembered)!)
    expect((await request(server).get('/cart').set('Cookie', next)).body).toEqual({ cart: ['apple'], remembered: true })
    expect((await request(server).get('/cart').set('Cookie', old)).body).toEqual({ cart: null, remembered: false })
  })

  it('the lifetime is bounded by rememberMaxAge from creation or login, whatever the app asks, and the idle timeout still applies', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { server } = await serve((app) => {
      app.get('/login', async (req: any, res) => {
        await req.session.login('ann', { remember: '30d' })
        res.json({})
      })
      app.get('/extend', (req: any, res) => {
        req.session.cookie.maxAge = 365 * DAY
        res.json({ maxAge: req.session.cookie.maxAge })
      })
      app.get('/who', (req: any, res) => res.json({ user: req.session.meta.userId ?? null }))
    }, { rememberMaxAge: '10d', rememberIdleTimeout: '3d' })
    const login = await request(server).get('/login')
    expect(sessionCookie(login)).toMatch(/; Max-Age=864000;/) // 30d asked, 10d allowed
    let cookie = pair(sessionCookie(login)!)
    vi.setSystemTime(Date.now() + 2 * DAY) // a remembered session outlives the 30-minute idle timeout...
    expect((await request(server).get('/who').set('Cookie', cookie)).body).toEqual({ user: 'ann' })
    const extend = await request(server).get('/extend').set('Cookie', cookie)
    expect(extend.body.maxAge).toBeLessThanOrEqual(8 * DAY) // ...but asking for a year moves nothing past login + 10d
    cookie = pair(sessionCookie(extend) ?? cookie)
    for (const _day of [4, 6, 8]) {
      vi.setSystemTime(Date.now() + 2 * DAY)
      expect((await request(server).get('/who').set('Cookie', cookie)).body).toEqual({ user: 'ann' })
    }
    vi.setSystemTime(Date.now() + 2 * DAY) // past login + 10d despite daily activity
    expect((await request(server).get('/who').set('Cookie', cookie)).body).toEqual({ user: null })
  })

  it('a remembered session idle longer than rememberIdleTimeout is gone', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { server } = await serve((app) => {
      app.get('/login', async (req: any, res) => {
        await req.session.login('ann', { remember: '30d' })
        res.json({})
      })
      app.get('/who', (req: any, res) => res.json({ user: req.session.meta.userId ?? null }))
    }, { rememberIdleTimeout: '1d' })
    const cookie = pair(sessionCookie(await request(server).get('/login'))!)
    vi.setSystemTime(Date.now() + 2 * DAY)
    expect((await request(server).get('/who').set('Cookie', cookie)).body).toEqual({ user: null })
  })
})

describe('cookie.path', () => {
  it('a request outside cookie.path gets no session and no cookie (as express-session)', async () => {
    const store = memoryStore()
    const { server } = await serve((app) => {
      app.get(['/app/count', '/application', '/public'], (req: any, res) => {
        if (!req.session) return res.json({ session: false })
        req.session.n = (req.session.n ?? 0) + 1
        res.json({ session: true, n: req.session.n })
      })
    }, { cookie: { path: '/app' } }, store)
    const inside = await request(server).get('/app/count')
    expect(inside.body).toEqual({ session: true, n: 1 })
    expect(sessionCookie(inside)).toMatch(/; Path=\/app/)
    for (const path of ['/public', '/application']) {
      const outside = await request(server).get(path)
      expect(outside.body).toEqual({ session: false })
      expect(outside.headers['set-cookie']).toBeUndefined()
    }
    expect(store.size).toBe(1)
  })
})

describe("the peers' member names are never data", () => {
  it('cookie, maxAge, length, populated, manuallyCommit, resetMaxAge in the store stay out of the session; assigning them fails loudly', async () => {
    const store = memoryStore()
    const { server } = await serve((app) => {
      app.get('/start', (req: any, res) => {
        req.session.kept = 42
        res.json({ id: req.sessionID })
      })
      app.get('/read', (req: any, res) => res.json({ keys: Object.keys(req.session), json: JSON.parse(JSON.stringify(req.session)), maxAge: req.session.cookie.maxAge, length: req.session.length }))
      app.get('/assign', (req: any, res) => {
        const failures: string[] = []
        for (const name of ['cookie', 'length', 'populated', 'manuallyCommit', 'resetMaxAge', 'maxAge']) {
          try {
            req.session[name] = { polluted: true }
          } catch (error) {
            failures.push(name + ': ' + (error as Error).constructor.name)
          }
        }
        res.json({ failures, keys: Object.keys(req.session) })
      })
    }, {}, store)
    const start = await request(server).get('/start')
    const cookie = pair(sessionCookie(start)!)
    const planted = { cookie: '{"maxAge":99999999999}', maxAge: '1', length: '7', populated: 'false', manuallyCommit: '"x"', resetMaxAge: '"x"' }
    expect(await store.update(await storeKey(start.body.id), { set: planted, unset: [], lastActiveAt: Date.now(), expiresAt: Date.now() + 60_000 })).toBe(true)
    const read = await request(server).get('/read').set('Cookie', cookie)
    expect(read.body).toEqual({ keys: ['kept'], json: { kept: 42 }, maxAge: null, length: 1 })
    const assign = await request(server).get('/assign').set('Cookie', cookie)
    expect(assign.body.failures).toEqual(['cookie: TypeError', 'length: TypeError', 'populated: TypeError', 'manuallyCommit: TypeError', 'resetMaxAge: TypeError', 'maxAge: TypeError'])
    expect(assign.body.keys).toEqual(['kept'])
  })
})
