// Express-specific response paths: every way a handler can finish must wait for the store write,
// and a store error must reach next(err) while the headers are still unsent.
import { Agent, createServer, get, ServerResponse, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import express, { type NextFunction, type Request, type Response } from 'express'
import express4 from 'express4'
import request from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import { memoryStore, type MemoryStore } from '@sesame/core'
import { session } from '@sesame/express'
import { FaultyStore } from '../../../test/support/faulty-store.js'

const secret = 'express-adapter-test-secret-0123456789'

function cookieOf(res: request.Response): string | undefined {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined
  return header?.find((line) => line.startsWith('sid='))?.split(';', 1)[0]
}

describe('@sesame/express response paths', () => {
  const stores: MemoryStore[] = []
  afterEach(() => {
    for (const store of stores.splice(0)) store.close()
  })

  function app(factory: typeof express | typeof express4 = express, wrap?: (store: MemoryStore) => FaultyStore, before?: express.RequestHandler) {
    const store = memoryStore()
    stores.push(store)
    const used = wrap ? wrap(store) : store
    const instance = factory()
    const sessions = session({ secret, store: used })
    if (before) instance.use(before)
    instance.use(sessions)
    instance.get('/json', (req: Request, res: Response) => {
      req.session.via = 'json'
      res.json({ ok: true })
    })
    instance.get('/end-twice', (req: Request, res: Response) => {
      req.session.via = 'end-twice'
      res.end('first')
      res.end()
    })
    instance.get('/end-null', (req: Request, res: Response) => {
      req.session.via = 'end-null'
      res.end(null)
    })
    instance.get('/write-head', (req: Request, res: Response) => {
      req.session.via = 'write-head'
      res.writeHead(201, { 'Content-Type': 'text/plain' })
      res.end('made')
    })
    instance.get('/stream', (req: Request, res: Response) => {
      req.session.via = 'stream'
      Readable.from(['a', 'b', 'c']).pipe(res)
    })
    instance.get('/redirect', (req: Request, res: Response) => {
      req.session.via = 'redirect'
      res.redirect('/read')
    })
    instance.get('/read', (req: Request, res: Response) => {
      res.json({ ...req.session })
    })
    instance.get('/slow', (req: Request, res: Response) => {
      req.session.via = 'slow'
      setTimeout(() => res.json({ via: 'slow' }), 50)
    })
    instance.get('/count', (req: Request, res: Response) => {
      req.session.n = ((req.session.n as number | undefined) ?? 0) + 1
      res.json({ n: req.session.n })
    })
    instance.get('/app-cookie', (req: Request, res: Response) => {
      req.session.via = 'app-cookie'
      res.cookie('theme', 'dark')
      res.send('ok')
    })
    instance.use((error: { status?: number; code?: string }, _req: Request, res: Response, _next: NextFunction) => {
      res.status(error.status ?? 500).json({ code: error.code, headersWereSent: res.headersSent })
    })
    return { server: createServer(instance), store, sessions }
  }

  // A middleware in front that puts its own res.write/res.end on the response (as compression does)
  // may hold the original methods, so sesame must wrap the response itself, on every request.
  const ownWrappers: express.RequestHandler = (_req, res, next) => {
    const { write, end } = res
    res.write = function (this: Response, ...args: unknown[]) {
      return (write as (...a: unknown[]) => boolean).apply(this, args)
    } as Response['write']
    res.end = function (this: Response, ...args: unknown[]) {
      return (end as (...a: unknown[]) => Response).apply(this, args)
    } as Response['end']
    next()
  }
  const variants = [
    { name: 'memory store (answers synchronously)', wrap: undefined, before: undefined },
    { name: 'asynchronous store', wrap: (store: MemoryStore) => new FaultyStore(store), before: undefined },
    { name: 'own res.write/res.end wrappers in front', wrap: undefined, before: ownWrappers },
  ]
  for (const variant of variants) {
    for (const path of ['/json', '/end-twice', '/end-null', '/write-head', '/stream', '/redirect', '/app-cookie']) {
      it(`${variant.name}, ${path}: the write is stored and the cookie set before the response leaves`, async () => {
        const { server } = app(express, variant.wrap, variant.before)
        // Twice: the second request finds nothing left over from the first.
        for (let round = 0; round < 2; round++) {
          const res = await request(server).get(path)
          expect(res.status).toBeLessThan(400)
          const cookie = cookieOf(res)
          expect(cookie).toBeDefined()
          const read = await request(server).get('/read').set('Cookie', cookie!)
          expect(read.body).toEqual({ via: path.slice(1) })
        }
      })
    }
  }

  it('a session loaded in a mounted sub-app is committed when the parent app sends the response', async () => {
    const store = memoryStore()
    stores.push(store)
    const sub = express()
    sub.use(session({ secret, store }))
    sub.get('/visit', (req: Request, _res: Response, next: NextFunction) => {
      req.session.via = 'sub-app'
      next()
    })
    sub.get('/read', (req: Request, res: Response) => {
      res.json({ ...req.session })
    })
    const parent = express()
    parent.use('/sub', sub)
    // Express has reset the response's prototype to the parent's by the time this runs.
    parent.get('/sub/visit', (_req: Request, res: Response) => {
      res.send('sent by the parent')
    })
    const server = createServer(parent)
    const res = await request(server).get('/sub/visit')
    expect(res.text).toBe('sent by the parent')
    const read = await request(server).get('/sub/read').set('Cookie', cookieOf(res)!)
    expect(read.body).toEqual({ via: 'sub-app' })
  })

  it("two Express apps in one process: the one without sesame, express.response and Node's ServerResponse.prototype carry no sesame wrapper", async () => {
    const shared = [express.response, ServerResponse.prototype] as const
    const methods = ['writeHead', 'write', 'end', 'flushHeaders'] as const
    const snapshot = () => shared.map((object) => methods.map((name) => (object as unknown as Record<string, unknown>)[name]))
    const before = snapshot()
    const withSesame = app()
    const plain = express()
    const ownMethods: string[][] = []
    plain.use((_req: Request, res: Response, next: NextFunction) => {
      res.on('finish', () => ownMethods.push(methods.filter((name) => Object.hasOwn(res, name))))
      next()
    })
    plain.get('/json', (_req: Request, res: Response) => {
      res.json({ plain: true })
    })
    plain.get('/stream', (_req: Request, res: Response) => {
      Readable.from(['x', 'y']).pipe(res)
    })
    plain.get('/redirect', (_req: Request, res: Response) => {
      res.redirect('/json')
    })
    const server = createServer(plain)
    // Interleaved with requests sesame serves, with a synchronous and an asynchronous store.
    const asyncStore = app(express, (store) => new FaultyStore(store))
    for (let round = 0; round < 2; round++) {
      expect(cookieOf(await request(withSesame.server).get('/json'))).toBeDefined()
      expect(cookieOf(await request(asyncStore.server).get('/stream'))).toBeDefined()
      const json = await request(server).get('/json')
      expect(json.body).toEqual({ plain: true })
      expect(json.headers['set-cookie']).toBeUndefined()
      expect((await request(server).get('/stream')).text).toBe('xy')
      const redirect = await request(server).get('/redirect')
      expect(redirect.status).toBe(302)
      expect(redirect.headers.location).toBe('/json')
      expect(redirect.headers['set-cookie']).toBeUndefined()
    }
    expect(snapshot()).toEqual(before)
    // The other app's responses are Express's own: no method of their own, none of sesame's.
    expect(ownMethods).toEqual([[], [], [], [], [], []])
  })

  it('keeps cookies the app set itself', async () => {
    const { server } = app()
    const res = await request(server).get('/app-cookie')
    const header = res.headers['set-cookie'] as unknown as string[]
    expect(header.some((line) => line.startsWith('theme=dark'))).toBe(true)
    expect(header.some((line) => line.startsWith('sid='))).toBe(true)
  })

  it('a store error on write reaches next(err) before any header is sent', async () => {
    let faulty!: FaultyStore
    const { server } = app(express, (store) => (faulty = new FaultyStore(store)))
    faulty.fail('create')
    for (const path of ['/json', '/stream', '/end-twice', '/redirect']) {
      const res = await request(server).get(path)
      expect(res.status, path).toBe(503)
      expect(res.body, path).toEqual({ code: 'SESSION_STORE_UNAVAILABLE', headersWereSent: false })
      expect(cookieOf(res), path).toBeUndefined()
    }
  })

  // Each response holds itself (own wrappers); these cover a connection reused by later requests and
  // several requests in flight on one connection.
  describe('several requests on one connection', () => {
    const listening: Server[] = []
    afterEach(() => {
      for (const server of listening.splice(0)) server.close()
    })
    async function listen(server: Server): Promise<number> {
      listening.push(server)
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      return (server.address() as AddressInfo).port
    }
    function fetchOn(agent: Agent, port: number, path: string, cookie?: string): Promise<{ status: number; body: string; cookie: string | undefined }> {
      return new Promise((resolve, reject) => {
        get({ host: '127.0.0.1', port, path, agent, headers: cookie ? { cookie } : {} }, (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (body += chunk))
          res.on('end', () => resolve({ status: res.statusCode!, body, cookie: res.headers['set-cookie']?.find((line) => line.startsWith('sid='))?.split(';', 1)[0] }))
        }).on('error', reject)
      })
    }

    for (const variant of variants) {
      it(`${variant.name}: every request on a keep-alive connection is committed`, async () => {
        const port = await listen(app(express, variant.wrap, variant.before).server)
        const agent = new Agent({ keepAlive: true, maxSockets: 1 })
        const first = await fetchOn(agent, port, '/count')
        expect(first.body).toBe('{"n":1}')
        for (let n = 2; n <= 5; n++) expect((await fetchOn(agent, port, '/count', first.cookie)).body).toBe(`{"n":${n}}`)
        // A new session on the same connection gets its own cookie and its own data.
        const other = await fetchOn(agent, port, '/count')
        expect(other.cookie).toBeDefined()
        expect(other.cookie).not.toBe(first.cookie)
        expect((await fetchOn(agent, port, '/count', first.cookie)).body).toBe('{"n":6}')
        agent.destroy()
      })
    }

    it('pipelined requests, the first still running when the others arrive, are each committed', async () => {
      const port = await listen(app().server)
      const socket = connect(port, '127.0.0.1')
      let raw = ''
      socket.setEncoding('utf8')
      socket.on('data', (chunk: string) => (raw += chunk))
      const closed = new Promise((resolve) => socket.on('close', resolve))
      socket.write(
        'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n' + 'GET /json HTTP/1.1\r\nHost: x\r\n\r\n' + 'GET /end-null HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      )
      await closed
      const cookies = [...raw.matchAll(/^set-cookie: (sid=[^;]+)/gim)].map((match) => match[1]!)
      expect(raw.match(/HTTP\/1\.1 200 /g)).toHaveLength(3)
      expect(new Set(cookies).size).toBe(3)
      const agent = new Agent({ keepAlive: true })
      const vias = await Promise.all(cookies.map(async (cookie) => JSON.parse((await fetchOn(agent, port, '/read', cookie)).body) as { via: string }))
      expect(vias.map((read) => read.via)).toEqual(['slow', 'json', 'end-null'])
      agent.destroy()
    })

    it('a request after a failed commit on the same connection is committed', async () => {
      let faulty!: FaultyStore
      const port = await listen(app(express, (store) => (faulty = new FaultyStore(store))).server)
      const agent = new Agent({ keepAlive: true, maxSockets: 1 })
      faulty.fail('create')
      expect((await fetchOn(agent, port, '/count')).status).toBe(503)
      faulty.heal()
      const next = await fetchOn(agent, port, '/count')
      expect(next.body).toBe('{"n":1}')
      expect((await fetchOn(agent, port, '/count', next.cookie)).body).toBe('{"n":2}')
      agent.destroy()
    })
  })

  it('methods replaced on Express\'s response object by another library still commit', async () => {
    const { server } = app()
    await request(server).get('/json')
    const { end, writeHead } = express.response
    // As a library that patches them from scratch would: straight to Node's methods.
    const node = ServerResponse.prototype
    express.response.end = function (this: Response, ...args: unknown[]) {
      return (node.end as (...a: unknown[]) => Response).apply(this, args)
    } as Response['end']
    express.response.writeHead = function (this: Response, ...args: unknown[]) {
      return (node.writeHead as (...a: unknown[]) => Response).apply(this, args)
    } as Response['writeHead']
    try {
      const res = await request(server).get('/end-null')
      const read = await request(server).get('/read').set('Cookie', cookieOf(res)!)
      expect(read.body).toEqual({ via: 'end-null' })
    } finally {
      express.response.end = end
      express.response.writeHead = writeHead
    }
  })

  it('works the same on Express 4', async () => {
    const { server } = app(express4)
    const first = await request(server).get('/redirect')
    expect(first.status).toBe(302)
    const read = await request(server).get('/read').set('Cookie', cookieOf(first)!)
    expect(read.body).toEqual({ via: 'redirect' })
  })

  it('mounting the middleware twice loads the session once', async () => {
    const store = memoryStore()
    stores.push(store)
    const sessions = session({ secret, store })
    const instance = express()
    instance.use(sessions, sessions)
    instance.get('/', (req: Request, res: Response) => {
      req.session.n = 1
      res.send('ok')
    })
    const res = await request(createServer(instance)).get('/')
    expect((res.headers['set-cookie'] as unknown as string[]).filter((line) => line.startsWith('sid='))).toHaveLength(1)
    expect(store.size).toBe(1)
  })
})
