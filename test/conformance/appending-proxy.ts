// A reverse proxy in front of an app, as nginx with `proxy_set_header X-Forwarded-For
// $proxy_add_x_forwarded_for` and `X-Forwarded-Proto $scheme`: it APPENDS the address it saw to
// whatever X-Forwarded-For the client sent, and REPLACES X-Forwarded-Proto with its own scheme.
// `scheme: 'https'` stands for a proxy that terminates TLS (the test talks plain HTTP to it).
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface AppendingProxy {
  /** Send a request through the proxy, from `clientAddress` (a loopback address such as 127.0.0.5). */
  get(path: string, options?: { clientAddress?: string; headers?: Record<string, string> }): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>
  close(): Promise<void>
}

export async function appendingProxy(upstream: Server, scheme: 'http' | 'https'): Promise<AppendingProxy> {
  const target = upstream.address() as AddressInfo
  const proxy = createServer((req, res) => {
    const headers = { ...req.headers }
    const seen = req.socket.remoteAddress!.replace(/^::ffff:/, '')
    headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${String(headers['x-forwarded-for'])}, ${seen}` : seen
    headers['x-forwarded-proto'] = scheme
    const forwarded = httpRequest({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers)
      answer.pipe(res)
    })
    forwarded.on('error', () => res.writeHead(502).end())
    req.pipe(forwarded)
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  const port = (proxy.address() as AddressInfo).port
  return {
    get: (path, options = {}) =>
      new Promise((resolve, reject) => {
        const sent = httpRequest({ host: '127.0.0.1', port, path, localAddress: options.clientAddress, headers: options.headers, agent: false }, (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (body += chunk))
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
        })
        sent.on('error', reject)
        sent.end()
      }),
    close: () => new Promise<void>((resolve) => proxy.close(() => resolve())),
  }
}
