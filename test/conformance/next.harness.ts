// withSession served by a plain node:http server: IncomingMessage -> Request, Response -> ServerResponse.
// The bridge is what any fetch-style host does. A Request has no socket, so the client address
// reaches sesame only as X-Forwarded-For (believed only with trustProxy, which the harness sets from
// its `trustedProxies` setting) and the protocol as the URL's scheme, which the bridge takes from the
// socket (https only over TLS), or X-Forwarded-Proto with trustProxy.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { Readable } from 'node:stream'
import { nextSession } from '@sesame/next'
import { errorBody, type Harness } from './harness.js'
import { routes } from './routes.js'

function toRequest(req: IncomingMessage): Request {
  const scheme = (req.socket as TLSSocket).encrypted ? 'https' : 'http'
  const headers = new Headers()
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!)
  const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : (Readable.toWeb(req) as ReadableStream)
  return new Request(`${scheme}://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, {
    method: req.method,
    headers,
    body,
    duplex: 'half',
  } as RequestInit)
}

async function send(response: Response, res: ServerResponse): Promise<void> {
  res.statusCode = response.status
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') res.setHeader(name, value)
  })
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) res.setHeader('Set-Cookie', cookies)
  if (!response.body) return void res.end()
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk)
  res.end()
}

export const nextHarness: Harness = {
  name: 'next (withSession over node:http)',
  async start(options, settings = {}) {
    const trustProxy = settings.trustedProxies ?? options.trustProxy
    const sessions = nextSession({ ...options, trustProxy, shared: false })
    const handler = sessions.withSession<{ params: Promise<Record<string, string>> }>(async (request, { session }) => {
      const url = new URL(request.url)
      const route = routes[url.pathname]
      if (!route) return new Response('not found', { status: 404 })
      const result = await route(session, url.searchParams)
      // Relative Location, as the other harnesses send (Response.redirect needs an absolute URL;
      // its immutable headers are covered in packages/next/test).
      if ('redirect' in result) return new Response(null, { status: 302, headers: { Location: result.redirect } })
      if ('stream' in result) {
        const chunks = result.stream
        const encoder = new TextEncoder()
        return new Response(
          new ReadableStream({
            pull(controller) {
              const chunk = chunks.shift()
              if (chunk === undefined) controller.close()
              else controller.enqueue(encoder.encode(chunk))
            },
          }),
          { headers: { 'Content-Type': 'text/plain' } },
        )
      }
      return Response.json(result.json, { status: result.status ?? 200 })
    })
    const server = createServer((req, res) => {
      handler(toRequest(req), { params: Promise.resolve({}) })
        .then((response) => send(response, res))
        .catch((error: unknown) => {
          const { status, body } = errorBody(error)
          if (res.headersSent) return void res.end()
          res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body))
        })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return {
      server,
      engine: sessions.engine,
      close: async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()))
        await sessions.close()
      },
    }
  },
}
