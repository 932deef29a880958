// Express-specific response paths: every way a handler can finish must wait for the store write,
// and a store error must reach next(err) while the headers are still unsent.
import { createServer } from 'node:http'
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

  function app(factory: typeof express | typeof express4 = express, wrap?: (store: MemoryStore) => FaultyStore) {
    const store = memoryStore()
    stores.push(store)
    const used = wrap ? wrap(store) : store
    const instance = factory()
    const sessions = session({ secret, store: used })
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

  for (const path of ['/json', '/end-twice', '/end-null', '/write-head', '/stream', '/redirect', '/app-cookie']) {
    it(`${path}: the write is stored and the cookie set before the response leaves`, async () => {
      const { server } = app()
      const res = await request(server).get(path)
      expect(res.status).toBeLessThan(400)
      const cookie = cookieOf(res)
      expect(cookie).toBeDefined()
      const read = await request(server).get('/read').set('Cookie', cookie!)
      expect(read.body).toEqual({ via: path.slice(1) })
    })
  }

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
