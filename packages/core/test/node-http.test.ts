// holdResponse on real node:http responses: whatever path a response takes (prototype wrappers, own
// wrappers, a wrapper someone put in front, a synchronous or asynchronous commit), nothing leaves
// before the commit has settled, and the cookie it returns is on the response.
import { createServer, ServerResponse, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { holdResponse, installHoldWrappers, type HoldableResponse } from '../src/node-http.js'

type Handler = (req: IncomingMessage, res: ServerResponse) => void
const servers: ReturnType<typeof createServer>[] = []
afterEach(() => {
  for (const server of servers.splice(0)) server.close()
})

async function serve(handler: Handler): Promise<string> {
  const server = createServer(handler)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
}

/** A framework's response prototype, as Express gives each app: inherits Node's ServerResponse. */
function frameworkPrototype(): object {
  return Object.create(ServerResponse.prototype) as object
}

/** A commit that settles later; records when it settled relative to the writes. */
function slowCommit(log: string[], cookie = 'sid=abc; Path=/') {
  return () =>
    new Promise<string>((resolve) =>
      setTimeout(() => {
        log.push('committed')
        resolve(cookie)
      }, 20),
    )
}

describe('holdResponse', () => {
  it('prototype wrappers: an asynchronous commit settles before the headers leave, and its cookie is sent', async () => {
    const prototype = frameworkPrototype()
    installHoldWrappers(prototype)
    const log: string[] = []
    const url = await serve((_req, res) => {
      Object.setPrototypeOf(res, prototype)
      holdResponse(res as unknown as HoldableResponse, slowCommit(log), () => log.push('error'), prototype)
      res.setHeader('Content-Type', 'text/plain')
      res.write('a')
      res.end('b', () => log.push('sent'))
    })
    const response = await fetch(url)
    expect(await response.text()).toBe('ab')
    expect(response.headers.get('set-cookie')).toBe('sid=abc; Path=/')
    expect(log).toEqual(['committed', 'sent'])
  })

  it('a wrapper put on the response before the prototype wrappers existed is still held', async () => {
    const prototype = frameworkPrototype()
    const log: string[] = []
    const url = await serve((_req, res) => {
      Object.setPrototypeOf(res, prototype)
      // Like compression or on-headers: an own res.end that holds on to the method it found.
      const end = res.end
      res.end = function (this: ServerResponse, ...args: unknown[]) {
        return (end as (...a: unknown[]) => ServerResponse).apply(this, args)
      } as ServerResponse['end']
      installHoldWrappers(prototype)
      holdResponse(res as unknown as HoldableResponse, slowCommit(log), () => log.push('error'), prototype)
      res.end('done', () => log.push('sent'))
    })
    const response = await fetch(url)
    expect(await response.text()).toBe('done')
    expect(response.headers.get('set-cookie')).toBe('sid=abc; Path=/')
    expect(log).toEqual(['committed', 'sent'])
  })

  it('a plain ServerResponse (no framework prototype) gets own wrappers and is held the same way', async () => {
    const log: string[] = []
    const url = await serve((_req, res) => {
      holdResponse(res as unknown as HoldableResponse, slowCommit(log), () => log.push('error'))
      res.writeHead(201, { 'Content-Type': 'text/plain' })
      res.end('made', () => log.push('sent'))
    })
    const response = await fetch(url)
    expect(response.status).toBe(201)
    expect(response.headers.get('set-cookie')).toBe('sid=abc; Path=/')
    expect(log).toEqual(['committed', 'sent'])
  })

  it('a synchronous commit adds its cookie and lets the call through at once', async () => {
    const prototype = frameworkPrototype()
    installHoldWrappers(prototype)
    let commits = 0
    const url = await serve((_req, res) => {
      Object.setPrototypeOf(res, prototype)
      holdResponse(res as unknown as HoldableResponse, () => (commits++, 'sid=now; Path=/'), () => undefined, prototype)
      res.end('x')
      // Already passed to Node: the headers are out.
      expect(res.headersSent).toBe(true)
    })
    const response = await fetch(url)
    expect(response.headers.get('set-cookie')).toBe('sid=now; Path=/')
    expect(commits).toBe(1)
  })

  it('a commit that throws synchronously reaches onError after the app call returned, with no header sent', async () => {
    const prototype = frameworkPrototype()
    installHoldWrappers(prototype)
    const log: string[] = []
    const url = await serve((_req, res) => {
      Object.setPrototypeOf(res, prototype)
      holdResponse(
        res as unknown as HoldableResponse,
        () => {
          throw new Error('store down')
        },
        (error) => {
          log.push(`onError: ${(error as Error).message}, headersSent=${res.headersSent}`)
          res.statusCode = 503
          res.setHeader('Content-Type', 'text/plain')
          res.end('unavailable')
        },
        prototype,
      )
      res.setHeader('Content-Type', 'application/json')
      res.end('{"held":true}')
      log.push('end returned')
    })
    const response = await fetch(url)
    expect(response.status).toBe(503)
    expect(await response.text()).toBe('unavailable')
    expect(response.headers.get('content-type')).toBe('text/plain')
    expect(log).toEqual(['end returned', 'onError: store down, headersSent=false'])
  })

  it('a response of the prototype without a hold passes straight through', async () => {
    const prototype = frameworkPrototype()
    installHoldWrappers(prototype)
    const url = await serve((_req, res) => {
      Object.setPrototypeOf(res, prototype)
      res.writeHead(200, { 'Content-Type': 'text/plain' })
      res.write('plain ')
      res.end('response')
    })
    const response = await fetch(url)
    expect(await response.text()).toBe('plain response')
    expect(response.headers.get('set-cookie')).toBeNull()
  })
})
