// Koa-specific paths the conformance suite does not reach: ctx.session = null, ctx.respond = false,
// errors handled (or not) upstream, streamed bodies, Koa 2. Real HTTP, real memory store.
import { createServer, ServerResponse, type Server } from 'node:http'
import { Readable } from 'node:stream'
import Koa from 'koa'
import Koa2 from 'koa2'
import request from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import { memoryStore, type MemoryStore } from '@sesame/core'
import { session, type SessionMiddleware } from '@sesame/koa'
import { FaultyStore } from '../../../test/support/faulty-store.js'

const secret = 'koa-adapter-test-secret-long-enough-123'
const open: Array<{ server: Server; sessions: SessionMiddleware; store: MemoryStore }> = []

function sessionCookie(res: request.Response): string | undefined {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined
  return header?.find((line) => line.startsWith('sid='))
}

async function serve(build: (app: Koa, sessions: SessionMiddleware) => void, KoaClass: typeof Koa = Koa, store = memoryStore()) {
  const app = new KoaClass()
  app.silent = true
  const sessions = session({ secret, store })
  build(app, sessions)
  const server = createServer(app.callback())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  open.push({ server, sessions, store })
  return { server, store, sessions }
}

afterEach(async () => {
  for (const { server, sessions, store } of open.splice(0)) {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await sessions.close()
    store.close()
  }
})

const counter = (app: Koa, sessions: SessionMiddleware) => {
  app.use(sessions)
  app.use(async (ctx) => {
    if (ctx.path === '/destroy') {
      ctx.session = null
      ctx.body = { destroyed: true }
      return
    }
    ctx.session.n = ((ctx.session.n as number | undefined) ?? 0) + 1
    ctx.body = { n: ctx.session.n }
  })
}

describe('@sesame/koa', () => {
  for (const [label, KoaClass] of [['Koa 3', Koa], ['Koa 2', Koa2 as unknown as typeof Koa]] as const) {
    it(`${label}: counts across requests and ctx.session = null destroys`, async () => {
      const { server, store } = await serve(counter, KoaClass)
      const agent = request.agent(server)
      expect((await agent.get('/')).body).toEqual({ n: 1 })
      expect((await agent.get('/')).body).toEqual({ n: 2 })
      const destroyed = await agent.get('/destroy')
      expect(sessionCookie(destroyed)).toMatch(/^sid=; Expires=Thu, 01 Jan 1970/)
      expect(store.size).toBe(0)
      expect((await agent.get('/')).body).toEqual({ n: 1 })
    })
  }

  it('ctx.session = { ... } replaces the data (koa-session), keeping the id; anything but an object or null is a TypeError', async () => {
    const { server } = await serve((app, sessions) => {
      app.use(async (ctx, next) => {
        try {
          await next()
        } catch (error) {
          ctx.status = 500
          ctx.body = { message: (error as Error).message }
        }
      })
      app.use(sessions)
      app.use((ctx) => {
        if (ctx.path === '/replace') ctx.session = { user: 'x' }
        else if (ctx.path === '/bad') ctx.session = 'x' as never
        else if (ctx.path === '/add') ctx.session.cart = ['apple']
        ctx.body = { ...ctx.session }
      })
    })
    const agent = request.agent(server)
    expect((await agent.get('/add')).body).toEqual({ cart: ['apple'] })
    expect((await agent.get('/replace')).body).toEqual({ user: 'x' })
    const after = await agent.get('/')
    expect(after.body).toEqual({ user: 'x' })
    const bad = await agent.get('/bad')
    expect(bad.status).toBe(500)
    expect(bad.body.message).toMatch(/^ctx\.session can only be set to null .* or an object/)
  })

  it('ctx.respond = false: the store write finishes and the cookie is set before the raw response leaves', async () => {
    const { server, store } = await serve((app, sessions) => {
      app.use(sessions)
      app.use(async (ctx) => {
        ctx.session.raw = true
        ctx.respond = false
        // Written after the middleware returned, straight to Node's response.
        setTimeout(() => {
          ctx.res.writeHead(200, { 'Content-Type': 'text/plain' })
          ctx.res.end(`stored=${store.size}`)
        }, 10)
      })
    })
    const res = await request(server).get('/')
    expect(res.text).toBe('stored=1')
    expect(sessionCookie(res)).toMatch(/^sid=Fe26/)
  })

  it('ctx.respond = false with a write during downstream: the hold commits before the headers leave', async () => {
    const { server, store } = await serve((app, sessions) => {
      app.use(sessions)
      app.use(async (ctx) => {
        ctx.session.early = true
        ctx.respond = false
        ctx.res.setHeader('Content-Type', 'text/plain')
        ctx.res.write('a')
        ctx.res.end('b')
      })
    })
    const res = await request(server).get('/')
    expect(res.text).toBe('ab')
    expect(sessionCookie(res)).toMatch(/^sid=Fe26/)
    expect(store.size).toBe(1)
  })

  it('a streamed body carries the cookie and the write is stored', async () => {
    const { server, store } = await serve((app, sessions) => {
      app.use(sessions)
      app.use(async (ctx) => {
        ctx.session.streamed = true
        ctx.body = Readable.from(['x', 'y', 'z'])
      })
    })
    const res = await request(server).get('/').buffer(true).parse((r, done) => {
      let text = ''
      r.on('data', (chunk: Buffer) => (text += chunk))
      r.on('end', () => done(null, text))
    })
    expect(res.body).toBe('xyz')
    expect(sessionCookie(res)).toMatch(/^sid=Fe26/)
    expect(store.size).toBe(1)
  })

  it('an error handled upstream still persists the session; an unhandled one writes nothing', async () => {
    const { server, store } = await serve((app, sessions) => {
      app.use(async (ctx, next) => {
        if (ctx.path !== '/handled') return next()
        try {
          await next()
        } catch {
          ctx.status = 422
          ctx.body = { handled: true }
        }
      })
      app.use(sessions)
      app.use(async (ctx) => {
        ctx.session.attempt = ctx.path
        ctx.throw(400, 'bad input')
      })
    })
    const handled = await request(server).get('/handled')
    expect(handled.status).toBe(422)
    expect(sessionCookie(handled)).toMatch(/^sid=Fe26/)
    expect(store.size).toBe(1)
    const unhandled = await request(server).get('/unhandled')
    expect(unhandled.status).toBe(400)
    expect(sessionCookie(unhandled)).toBeUndefined()
    expect(store.size).toBe(1)
  })

  it('a store failure reaches Koa error handling as 503 with the typed error, not a fresh session', async () => {
    const inner = memoryStore()
    const faulty = new FaultyStore(inner)
    const { server } = await serve(counter, Koa, faulty as unknown as MemoryStore)
    const agent = request.agent(server)
    await agent.get('/')
    faulty.fail('update')
    const res = await agent.get('/')
    expect(res.status).toBe(503)
    expect(sessionCookie(res)).toBeUndefined()
    faulty.heal()
    expect((await agent.get('/')).body).toEqual({ n: 2 })
    inner.close()
  })

  it('mounted twice, the second mount reuses the first session', async () => {
    const { server } = await serve((app, sessions) => {
      app.use(sessions)
      app.use(sessions)
      app.use((ctx) => {
        ctx.session.n = 1
        ctx.body = 'ok'
      })
    })
    const res = await request(server).get('/')
    expect((res.headers['set-cookie'] as unknown as string[]).length).toBe(1)
  })

  it("two Koa apps in one process: ctx.session lives on the sesame app's own app.context only; Koa's and Node's shared prototypes are untouched", async () => {
    const methods = ['writeHead', 'write', 'end', 'flushHeaders'] as const
    const nodeBefore = methods.map((name) => ServerResponse.prototype[name])
    let withSesame!: Koa
    const { server } = await serve((app, sessions) => {
      withSesame = app
      counter(app, sessions)
    })
    const plain = new Koa()
    const ownMethods: string[][] = []
    plain.use((ctx) => {
      ownMethods.push(methods.filter((name) => Object.hasOwn(ctx.res, name)))
      ctx.body = { session: (ctx as unknown as { session?: unknown }).session ?? null }
    })
    const plainServer = createServer(plain.callback())
    expect((await request(server).get('/')).body).toEqual({ n: 1 })
    const answer = await request(plainServer).get('/')
    expect(answer.body).toEqual({ session: null })
    expect(answer.headers['set-cookie']).toBeUndefined()
    expect(Object.hasOwn(withSesame.context, 'session')).toBe(true)
    expect('session' in plain.context).toBe(false)
    // Koa's own context prototype, shared by every app, has no session accessor.
    expect('session' in (Object.getPrototypeOf(plain.context) as object)).toBe(false)
    expect(ownMethods).toEqual([[]])
    expect(methods.map((name) => ServerResponse.prototype[name])).toEqual(nodeBefore)
  })
})
