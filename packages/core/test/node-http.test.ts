// holdResponse on real node:http responses: whatever path a response takes (a plain response, a
// wrapper someone put in front, a commit that answers at once, later or throws), nothing leaves before
// the commit has settled, the cookie it returns is on the response, and nothing shared is changed.
import { createServer, ServerResponse, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { holdResponse, type HoldableResponse } from '../src/node-http.js'

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

const held = (res: ServerResponse) => res as unknown as HoldableResponse

describe('holdResponse', () => {
  it('an asynchronous commit settles before the headers leave (res.write then res.end, no writeHead), and its cookie is sent', async () => {
    const log: string[] = []
    const url = await serve((_req, res) => {
      holdResponse(held(res), slowCommit(log), () => log.push('error'))
      res.setHeader('Content-Type', 'text/plain')
      res.write('a')
      res.end('b', () => log.push('sent'))
    })
    const response = await fetch(url)
    expect(await response.text()).toBe('ab')
    expect(response.headers.get('set-cookie')).toBe('sid=abc; Path=/')
    expect(log).toEqual(['committed', 'sent'])
  })

  it('an explicit writeHead is held too', async () => {
    const log: string[] = []
    const url = await serve((_req, res) => {
      holdResponse(held(res), slowCommit(log), () => log.push('error'))
      res.writeHead(201, { 'Content-Type': 'text/plain' })
      res.end('made', () => log.push('sent'))
    })
    const response = await fetch(url)
    expect(response.status).toBe(201)
    expect(response.headers.get('set-cookie')).toBe('sid=abc; Path=/')
    expect(log).toEqual(['committed', 'sent'])
  })

  it('flushHeaders, 304 and HEAD responses wait for the commit and carry the cookie', async () => {
    const log: string[] = []
    const url = await serve((req, res) => {
      holdResponse(held(res), slowCommit(log), () => log.push('error'))
      if (req.url === '/flush') {
        res.flushHeaders()
        setTimeout(() => res.end('later', () => log.push('sent')), 40)
      } else if (req.url === '/304') {
        res.statusCode = 304
        res.end(() => log.push('sent'))
      } else res.end('body of a HEAD', () => log.push('sent'))
    })
    for (const [path, method] of [['flush', 'GET'], ['304', 'GET'], ['head', 'HEAD']] as const) {
      log.length = 0
      const response = await fetch(url + path, { method })
      await response.text()
      expect(response.headers.get('set-cookie'), path).toBe('sid=abc; Path=/')
      expect(log, path).toEqual(['committed', 'sent'])
    }
  })

  it('flushHeaders() for a stream (server-sent events): the headers, with the cookie, reach the client once committed, before any body', async () => {
    const log: string[] = []
    let finish: () => void = () => undefined
    const url = await serve((_req, res) => {
      holdResponse(held(res), slowCommit(log), () => log.push('error'))
      res.setHeader('Content-Type', 'text/event-stream')
      res.flushHeaders()
      finish = () => res.end('data: done\n\n')
    })
    // fetch resolves on the headers: with nothing written yet, only the flush after the commit sends them.
    const response = await fetch(url)
    expect(log).toEqual(['committed'])
    expect(response.headers.get('set-cookie')).toBe('sid=abc; Path=/')
    expect(response.headers.get('content-type')).toBe('text/event-stream')
    finish()
    expect(await response.text()).toBe('data: done\n\n')
  })

  it('writeHead then flushHeaders while held: one status line, the explicit one, and no crash', async () => {
    const log: string[] = []
    const url = await serve((_req, res) => {
      holdResponse(held(res), slowCommit(log), () => log.push('error'))
      res.writeHead(202, { 'Content-Type': 'text/plain' })
      res.flushHeaders()
      setTimeout(() => res.end('accepted', () => log.push('sent')), 40)
    })
    const response = await fetch(url)
    expect(response.status).toBe(202)
    expect(response.headers.get('set-cookie')).toBe('sid=abc; Path=/')
    expect(await response.text()).toBe('accepted')
    expect(log).toEqual(['committed', 'sent'])
  })

  it("a held call that Node rejects when it finally runs (writeHead(1000)) reaches onError instead of crashing the process", async () => {
    const log: string[] = []
    const url = await serve((_req, res) => {
      holdResponse(held(res), slowCommit(log), (error) => {
        log.push(`onError: ${(error as { code?: string }).code}, headersSent=${res.headersSent}`)
        res.statusCode = 500
        res.end('error page')
      })
      res.writeHead(1000)
      res.end('never')
    })
    const response = await fetch(url)
    expect(response.status).toBe(500)
    expect(await response.text()).toBe('error page')
    expect(log).toEqual(['committed', 'onError: ERR_HTTP_INVALID_STATUS_CODE, headersSent=false'])
  })

  it('a wrapper put on the response before the hold is kept and still held', async () => {
    const log: string[] = []
    const url = await serve((_req, res) => {
      // Like compression or on-headers: an own res.end that holds on to the method it found.
      const end = res.end
      res.end = function (this: ServerResponse, ...args: unknown[]) {
        log.push('outer end')
        return (end as (...a: unknown[]) => ServerResponse).apply(this, args)
      } as ServerResponse['end']
      holdResponse(held(res), slowCommit(log), () => log.push('error'))
      res.end('done', () => log.push('sent'))
    })
    const response = await fetch(url)
    expect(await response.text()).toBe('done')
    expect(response.headers.get('set-cookie')).toBe('sid=abc; Path=/')
    // sesame's wrapper is in front of it: the earlier wrapper runs once the commit has settled.
    expect(log).toEqual(['committed', 'outer end', 'sent'])
  })

  it('a commit that answers at once still goes out after the app call returned, with its cookie', async () => {
    let commits = 0
    const log: string[] = []
    const url = await serve((_req, res) => {
      holdResponse(held(res), () => (commits++, 'sid=now; Path=/'), () => undefined)
      res.end('x', () => log.push('sent'))
      log.push(`end returned, headersSent=${res.headersSent}`)
    })
    const response = await fetch(url)
    expect(await response.text()).toBe('x')
    expect(response.headers.get('set-cookie')).toBe('sid=now; Path=/')
    expect(commits).toBe(1)
    expect(log).toEqual(['end returned, headersSent=false', 'sent'])
  })

  it('a commit that throws synchronously reaches onError after the app call returned, with no header sent', async () => {
    const log: string[] = []
    const url = await serve((_req, res) => {
      holdResponse(
        held(res),
        () => {
          throw new Error('store down')
        },
        (error) => {
          log.push(`onError: ${(error as Error).message}, headersSent=${res.headersSent}`)
          res.statusCode = 503
          res.setHeader('Content-Type', 'text/plain')
          res.end('unavailable')
        },
      )
      res.setHeader('Content-Type', 'application/json')
      res.setHeader('Location', '/elsewhere')
      res.end('{"held":true}')
      log.push('end returned')
    })
    const response = await fetch(url, { redirect: 'manual' })
    expect(response.status).toBe(503)
    expect(await response.text()).toBe('unavailable')
    expect(response.headers.get('content-type')).toBe('text/plain')
    expect(response.headers.get('location')).toBeNull()
    expect(log).toEqual(['end returned', 'onError: store down, headersSent=false'])
  })

  it('after a failed commit, late writes of the abandoned response are dropped once the error response ended', async () => {
    const log: string[] = []
    const url = await serve((_req, res) => {
      holdResponse(
        held(res),
        () => Promise.reject(new Error('store down')),
        () => {
          res.statusCode = 503
          res.end('unavailable')
          // A stream of the abandoned response still producing: no "write after end".
          log.push(`late write -> ${String(res.write('late'))}`)
          res.end('late end')
        },
      )
      res.write('first chunk')
    })
    const response = await fetch(url)
    expect(response.status).toBe(503)
    expect(await response.text()).toBe('unavailable')
    expect(log).toEqual(['late write -> false'])
  })

  it("changes nothing shared: Node's ServerResponse.prototype keeps its methods, other responses have no own wrappers", async () => {
    const prototype = ServerResponse.prototype
    const before = { writeHead: prototype.writeHead, write: prototype.write, end: prototype.end, flushHeaders: prototype.flushHeaders }
    const ownMethods: string[][] = []
    const url = await serve((req, res) => {
      if (req.url === '/held') holdResponse(held(res), () => 'sid=x; Path=/', () => undefined)
      ownMethods.push(['writeHead', 'write', 'end', 'flushHeaders'].filter((name) => Object.hasOwn(res, name)))
      res.end('ok')
    })
    expect((await fetch(url + 'held')).headers.get('set-cookie')).toBe('sid=x; Path=/')
    expect((await fetch(url + 'plain')).headers.get('set-cookie')).toBeNull()
    // flushHeaders needs no wrapper of its own (it goes through writeHead): three own methods, not four.
    expect(ownMethods).toEqual([['writeHead', 'write', 'end'], []])
    expect({ writeHead: prototype.writeHead, write: prototype.write, end: prototype.end, flushHeaders: prototype.flushHeaders }).toEqual(before)
  })
})
