// The koa-session members a migrated app calls, over real HTTP on @sesame/koa with a real memory
// store: autoCommit: false + manuallyCommit(), the valid and beforeSave hooks, ctx.session read before
// the middleware (session(opts, app)), maxAge / length / populated, save(cb), cookie.path scoping.
import { createServer, type Server } from 'node:http'
import Koa from 'koa'
import request from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import { memoryStore, type MemoryStore } from '@sesame/core'
import { session, type KoaSessionOptions } from '@sesame/koa'

const secret = 'koa-members-secret-0123456789-abcdef'
const open: Array<{ server: Server; close(): Promise<void> }> = []

afterEach(async () => {
  for (const entry of open.splice(0)) {
    await new Promise<void>((resolve) => entry.server.close(() => resolve()))
    await entry.close()
  }
})

async function serve(build: (app: Koa, sessions: Koa.Middleware) => void, options: Partial<KoaSessionOptions> = {}, { withApp = false, store = memoryStore() }: { withApp?: boolean; store?: MemoryStore } = {}) {
  const app = new Koa()
  app.silent = true
  app.use(async (ctx, next) => {
    try {
      await next()
    } catch (error) {
      ctx.status = (error as { status?: number }).status ?? 500
      ctx.body = { code: (error as { code?: string }).code ?? null, message: (error as Error).message }
    }
  })
  const sessions = withApp ? session({ secret, store, ...options }, app) : session({ secret, store, ...options })
  build(app, sessions)
  const server = createServer(app.callback())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  open.push({ server, close: () => sessions.close() })
  return { server, store }
}

function sessionCookie(res: request.Response, name = 'sid'): string | undefined {
  return ((res.headers['set-cookie'] as unknown as string[] | undefined) ?? []).find((line) => line.startsWith(name + '='))
}
const pair = (line: string) => line.split(';')[0]!

describe('autoCommit: false', () => {
  it('writes nothing and sets no cookie unless the app calls manuallyCommit() (or save())', async () => {
    const { server, store } = await serve((app, sessions) => {
      app.use(sessions)
      app.use(async (ctx) => {
        ctx.session.n = 1
        if (ctx.path === '/commit') await ctx.session.manuallyCommit()
        if (ctx.path === '/save') await ctx.session.save()
        ctx.body = { n: ctx.session.n }
      })
    }, { autoCommit: false })
    const skipped = await request(server).get('/')
    expect(skipped.body).toEqual({ n: 1 })
    expect(skipped.headers['set-cookie']).toBeUndefined()
    expect(store.size).toBe(0)
    const committed = await request(server).get('/commit')
    expect(sessionCookie(committed)).toBeDefined()
    expect(store.size).toBe(1)
    expect(sessionCookie(await request(server).get('/save'))).toBeDefined()
    expect(store.size).toBe(2)
  })
})

describe('valid and beforeSave hooks', () => {
  it('valid(ctx, data) returning false gives the request a fresh session; beforeSave(ctx, session) runs before the write', async () => {
    const { server } = await serve((app, sessions) => {
      app.use(sessions)
      app.use(async (ctx) => {
        if (ctx.path === '/set') ctx.session.agent = ctx.get('user-agent')
        ctx.body = { agent: ctx.session.agent ?? null, savedBy: ctx.session.savedBy ?? null }
      })
    }, {
      valid: (ctx, data) => data.agent === ctx.get('user-agent'),
      beforeSave: (ctx, current) => {
        current.savedBy = ctx.path
      },
    })
    const set = await request(server).get('/set').set('User-Agent', 'browser-a')
    const cookie = pair(sessionCookie(set)!)
    expect((await request(server).get('/').set('Cookie', cookie).set('User-Agent', 'browser-a')).body).toEqual({ agent: 'browser-a', savedBy: '/set' })
    // The same cookie from another user agent: koa-session's `valid` says no, a fresh session.
    expect((await request(server).get('/').set('Cookie', cookie).set('User-Agent', 'browser-b')).body).toEqual({ agent: null, savedBy: null })
  })
})

describe('ctx.session before the middleware (session(opts, app))', () => {
  it('can be read and written in a middleware mounted before it; the writes are kept on top of the stored session', async () => {
    const { server } = await serve((app, sessions) => {
      app.use(async (ctx, next) => {
        if (ctx.path === '/early') ctx.session.early = 'yes'
        await next()
      })
      app.use(sessions)
      app.use(async (ctx) => {
        if (ctx.path === '/count') ctx.session.n = ((ctx.session.n as number) ?? 0) + 1
        ctx.body = { early: ctx.session.early ?? null, n: ctx.session.n ?? 0 }
      })
    }, {}, { withApp: true })
    const first = await request(server).get('/count')
    const cookie = pair(sessionCookie(first)!)
    expect((await request(server).get('/early').set('Cookie', cookie)).body).toEqual({ early: 'yes', n: 1 })
    expect((await request(server).get('/').set('Cookie', cookie)).body).toEqual({ early: 'yes', n: 1 })
  })
})

describe('koa-session members', () => {
  it('maxAge (read, and assigned to remember), length, populated, save(cb), and reserved names', async () => {
    const { server } = await serve((app, sessions) => {
      app.use(sessions)
      app.use(async (ctx) => {
        const before = { maxAge: ctx.session.maxAge, length: ctx.session.length, populated: ctx.session.populated }
        ctx.session.a = 1
        ctx.session.b = 2
        if (ctx.path === '/remember') ctx.session.maxAge = 7 * 86_400_000
        if (ctx.path === '/length') {
          ctx.body = { error: (() => { try { ctx.session.length = 5 as never } catch (e) { return (e as Error).message } })() }
          return
        }
        await new Promise<void>((resolve, reject) => ctx.session.save((err) => (err ? reject(err) : resolve())))
        ctx.body = { before, after: { maxAge: ctx.session.maxAge, length: ctx.session.length, populated: ctx.session.populated }, data: { ...ctx.session } }
      })
    })
    const plain = await request(server).get('/')
    expect(plain.body).toEqual({ before: { maxAge: 'session', length: 0, populated: false }, after: { maxAge: 'session', length: 2, populated: true }, data: { a: 1, b: 2 } })
    const remembered = await request(server).get('/remember')
    expect(remembered.body.after.maxAge).toBe(7 * 86_400_000)
    expect(sessionCookie(remembered)).toMatch(/; Max-Age=60479[0-9]; Expires=|; Max-Age=604800; Expires=/)
    expect((await request(server).get('/length')).body.error).toMatch(/session\.length is reserved/)
  })

  it('a request outside cookie.path gets no session and no cookie', async () => {
    const { server } = await serve((app, sessions) => {
      app.use(sessions)
      app.use(async (ctx) => {
        if (!ctx.session) {
          ctx.body = { session: false }
          return
        }
        ctx.session.n = 1
        ctx.body = { session: true }
      })
    }, { path: '/app' })
    expect((await request(server).get('/app/x')).body).toEqual({ session: true })
    const outside = await request(server).get('/other')
    expect(outside.body).toEqual({ session: false })
    expect(outside.headers['set-cookie']).toBeUndefined()
  })
})
