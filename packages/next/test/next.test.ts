// @sesame/next outside a Next.js server: withSession is a fetch-style function (Request in,
// Response out), so it is called the way any fetch-style host calls it; proxy() likewise.
// getSession() needs Next's request context and is covered by test/e2e/next.test.ts.
import { createServer, type Server } from 'node:http'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { memoryStore, SessionConfigError, type MemoryStore } from '@sesame/core'
import { nextSession, type NextSessions } from '@sesame/next'
import { parseSetCookie } from '../src/get-session.js'
import { FaultyStore } from '../../../test/support/faulty-store.js'

const secret = 'next-adapter-test-secret-long-enough-42'
const opened: NextSessions[] = []
const stores: MemoryStore[] = []

function instance(options: Parameters<typeof nextSession>[0] = { secret }): NextSessions {
  const store = memoryStore()
  stores.push(store)
  const sessions = nextSession({ store, shared: false, ...options })
  opened.push(sessions)
  return sessions
}

afterEach(async () => {
  vi.useRealTimers()
  for (const sessions of opened.splice(0)) await sessions.close()
  for (const store of stores.splice(0)) store.close()
})

const cookieOf = (response: Response) => response.headers.getSetCookie().find((line) => line.startsWith('sid='))
const valueOf = (line: string | undefined) => line?.split(';', 1)[0]!.slice(4)

describe('withSession', () => {
  it('adds the cookie to a Response.redirect, whose headers are immutable, keeping status and Location', async () => {
    const sessions = instance()
    const handler = sessions.withSession(async (request, { session }) => {
      session.flash = 'saved'
      return Response.redirect(new URL('/done', request.url), 303)
    })
    const response = await handler(new Request('http://app.test/form', { method: 'POST' }), {})
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe('http://app.test/done')
    expect(cookieOf(response)).toMatch(/^sid=Fe26\.2\*.*; Path=\/; HttpOnly; SameSite=Lax$/)
    const read = sessions.withSession(async (_request, { session }) => Response.json({ flash: session.flash }))
    const next = await read(new Request('http://app.test/done', { headers: { cookie: `sid=${valueOf(cookieOf(response))}` } }), {})
    expect(await next.json()).toEqual({ flash: 'saved' })
  })

  it('adds the cookie to a fetch() response (immutable headers) and streams its body through', async () => {
    const upstream: Server = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Upstream': '1' }).end('from upstream'))
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = upstream.address() as { port: number }
      const sessions = instance()
      const handler = sessions.withSession(async (_request, { session }) => {
        session.proxied = true
        return fetch(`http://127.0.0.1:${port}/`)
      })
      const response = await handler(new Request('http://app.test/'), {})
      expect(response.headers.get('x-upstream')).toBe('1')
      expect(cookieOf(response)).toMatch(/^sid=Fe26/)
      expect(await response.text()).toBe('from upstream')
    } finally {
      await new Promise((resolve) => upstream.close(resolve))
    }
  })

  it("passes the caller's context (Next's params) through, with the session added", async () => {
    const sessions = instance()
    const handler = sessions.withSession<{ params: Promise<{ id: string }>; extra: number }>(async (_request, context) =>
      Response.json({ id: (await context.params).id, extra: context.extra, hasSession: typeof context.session.save === 'function' }),
    )
    const response = await handler(new Request('http://app.test/items/7'), { params: Promise.resolve({ id: '7' }), extra: 1 })
    expect(await response.json()).toEqual({ id: '7', extra: 1, hasSession: true })
    expect(cookieOf(response)).toBeUndefined()
  })

  it('a store outage answers 503 with its code (no framework error handler needed), then recovers', async () => {
    const store = memoryStore()
    stores.push(store)
    const faulty = new FaultyStore(store)
    const sessions = nextSession({ secret, store: faulty, shared: false })
    opened.push(sessions)
    const handler = sessions.withSession(async (_req, { session }) => {
      session.n = ((session.n as number | undefined) ?? 0) + 1
      return Response.json({ n: session.n })
    })
    const first = await handler(new Request('http://app.test/'), {})
    const cookie = valueOf(cookieOf(first))!
    const again = () => handler(new Request('http://app.test/', { headers: { cookie: `sid=${cookie}` } }), {})
    faulty.fail('get')
    const down = await again()
    expect(down.status).toBe(503)
    expect(await down.json()).toEqual({ code: 'SESSION_STORE_UNAVAILABLE' })
    expect(cookieOf(down)).toBeUndefined()
    faulty.heal()
    faulty.fail('update')
    expect((await again()).status).toBe(503)
    faulty.heal()
    expect(await (await again()).json()).toEqual({ n: 2 })
  })

  it('a handler that does not return a Response is a clear error', async () => {
    const sessions = instance()
    const handler = sessions.withSession((async () => ({ not: 'a response' })) as never)
    await expect(handler(new Request('http://app.test/'), {})).rejects.toThrow(/must return a Response/)
  })

  it('Secure follows the URL scheme, and X-Forwarded-* only with trustProxy', async () => {
    const events: Array<{ ip?: string }> = []
    const count = (sessions: NextSessions) =>
      sessions.withSession(async (_request, { session }) => {
        session.n = 1
        return new Response('ok')
      })
    const plain = count(instance({ secret }))
    expect(cookieOf(await plain(new Request('http://app.test/', { headers: { 'x-forwarded-proto': 'https' } }), {}))).not.toMatch(/Secure/)
    expect(cookieOf(await plain(new Request('https://app.test/'), {}))).toMatch(/; Secure/)
    const proxied = count(instance({ secret, trustProxy: true, audit: { hooks: [(event) => void events.push(event)] } }))
    const behind = await proxied(new Request('http://app.test/', { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' } }), {})
    expect(cookieOf(behind)).toMatch(/; Secure/)
    expect(events.at(-1)!.ip).toBe('203.0.113.7')
  })
})

describe('withSession: trustProxy (proxy-addr semantics; a Request has no socket, so its peer is the nearest proxy)', () => {
  const addressOf = async (options: Partial<Parameters<typeof nextSession>[0]>, headers: Record<string, string>) => {
    const events: Array<{ ip?: string }> = []
    const handler = instance({ secret, audit: { hooks: [(event) => void events.push(event)] }, ...options }).withSession(async (_request, { session }) => {
      session.n = 1
      return new Response('ok')
    })
    const response = await handler(new Request('http://app.test/', { headers }), {})
    return { ip: events.at(-1)!.ip, secure: /; Secure/.test(cookieOf(response) ?? '') }
  }
  // A client-written entry, then what an appending proxy saw (nginx's $proxy_add_x_forwarded_for).
  const appended = { 'x-forwarded-for': '6.6.6.6, 203.0.113.7, 10.0.0.9', 'x-forwarded-proto': 'https' }

  it('a hop count believes that many proxies from the right', async () => {
    expect(await addressOf({ trustProxy: 1 }, appended)).toEqual({ ip: '10.0.0.9', secure: true })
    expect(await addressOf({ trustProxy: 2 }, appended)).toEqual({ ip: '203.0.113.7', secure: true })
  })

  it('a list of proxy addresses/CIDRs skips exactly those hops; the client-written entry is never reached', async () => {
    expect(await addressOf({ trustProxy: ['10.0.0.0/8'] }, appended)).toEqual({ ip: '203.0.113.7', secure: true })
    expect(await addressOf({ trustProxy: '10.0.0.9, 192.168.0.0/16' }, appended)).toEqual({ ip: '203.0.113.7', secure: true })
  })

  it('true believes the left-most entry (unsafe behind an appending proxy); false believes nothing', async () => {
    expect((await addressOf({ trustProxy: true }, appended)).ip).toBe('6.6.6.6')
    expect(await addressOf({}, appended)).toEqual({ ip: undefined, secure: false })
  })
})

describe('nextSession instances', () => {
  it('one shared instance per process and cookie name; the store factory runs once', async () => {
    const factory = vi.fn(() => memoryStore())
    const first = nextSession({ secret, store: factory, cookie: { name: 'shared_test' } })
    const again = nextSession({ secret, store: factory, cookie: { name: 'shared_test' } })
    const other = nextSession({ secret, cookie: { name: 'other_test' } })
    try {
      // Identity compared by hand: expect().not.toBe() deep-compares on a miss, reading `engine`.
      expect(again === first).toBe(true)
      expect(other === first).toBe(false)
      expect(factory).not.toHaveBeenCalled() // nothing built until first use
      void first.engine
      void again.engine
      expect(factory).toHaveBeenCalledTimes(1)
    } finally {
      const store = factory.mock.results[0]?.value as MemoryStore | undefined
      await first.close()
      await other.close()
      store?.close()
    }
    // close() forgets the instance: the next call builds a new one.
    const fresh = nextSession({ secret, cookie: { name: 'shared_test' } })
    expect(fresh === first).toBe(false)
    await fresh.close()
  })

  it('a second call with identical options (a dev-mode reload: new store, new functions) gets the shared instance', async () => {
    // What re-evaluating lib/session.ts makes: equal values, but fresh objects and functions.
    const options = () => ({ secret, store: () => memoryStore(), idleTimeout: '10m', cookie: { name: 'reload_test', sameSite: 'strict' as const }, audit: { hooks: [(event: unknown) => void event] } })
    const first = nextSession(options())
    try {
      expect(nextSession(options()) === first).toBe(true)
      // A store where there was none is a different configuration.
      expect(() => nextSession({ ...options(), store: undefined })).toThrow('(differing: store)')
    } finally {
      await first.close()
    }
  })

  it('a second call for the same cookie name with other options throws, naming the options that differ (never the secret)', async () => {
    const first = nextSession({ secret, idleTimeout: '10m', cookie: { name: 'differ_test' } })
    try {
      let thrown: unknown
      try {
        nextSession({ secret: secret + '-other', idleTimeout: '5m', cookie: { name: 'differ_test', secure: true }, trustProxy: 1 })
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(SessionConfigError)
      expect((thrown as SessionConfigError).code).toBe('SESSION_CONFIG_INVALID')
      const message = (thrown as Error).message
      expect(message).toContain('(differing: cookie.secure, idleTimeout, secret, trustProxy)')
      expect(message).toContain('"differ_test"')
      expect(message).not.toContain(secret)
      // The first instance is untouched, and another cookie name is another instance.
      expect(nextSession({ secret, idleTimeout: '10m', cookie: { name: 'differ_test' } }) === first).toBe(true)
      const other = nextSession({ secret, idleTimeout: '5m', cookie: { name: 'differ_test_2' } })
      expect(other === first).toBe(false)
      await other.close()
    } finally {
      await first.close()
    }
  })

  it('a bad secret fails at start-up, not on the first request', () => {
    expect(() => nextSession({ secret: 'short', shared: false })).toThrow(/at least 32/)
  })
})

describe('proxy', () => {
  async function sealedCookie(sessions: NextSessions): Promise<string> {
    const handler = sessions.withSession(async (_request, { session }) => {
      session.n = 1
      return new Response('ok')
    })
    return valueOf(cookieOf(await handler(new Request('http://app.test/'), {})))!
  }
  const visit = (path: string, cookie?: string) => new Request(`http://app.test${path}`, { headers: cookie ? { cookie: `sid=${cookie}` } : {} })

  it('401 without a session; through with a sealed cookie; no store access', async () => {
    const sessions = instance()
    const guard = sessions.proxy()
    const unauthorized = await guard(visit('/account'))
    expect(unauthorized!.status).toBe(401)
    const cookie = await sealedCookie(sessions)
    const store = sessions.engine.store as MemoryStore
    const get = vi.spyOn(store, 'get')
    expect(await guard(visit('/account', cookie))).toBeUndefined()
    expect(get).not.toHaveBeenCalled()
  })

  it('redirects to the login page with ?next=, for missing, forged and foreign cookies', async () => {
    const sessions = instance()
    const guard = sessions.proxy({ redirectTo: '/login' })
    const foreign = await sealedCookie(instance({ secret: 'a-different-apps-secret-0123456789abcdef' }))
    for (const cookie of [undefined, 'garbage', 'Fe26.2*1*2*3*4*5*6*7', foreign]) {
      const response = await guard(visit('/account/settings?tab=2', cookie))
      expect(response!.status).toBe(307)
      expect(response!.headers.get('location')).toBe('http://app.test/login?next=%2Faccount%2Fsettings%3Ftab%3D2')
    }
    // The login page itself is never guarded (no redirect loop).
    expect(await guard(visit('/login'))).toBeUndefined()
  })

  it('turns away a cookie past its absolute deadline, however active the session', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const sessions = instance({ secret, absoluteTimeout: '1h', idleTimeout: '10m' })
    const cookie = await sealedCookie(sessions)
    const guard = sessions.proxy()
    vi.setSystemTime(Date.now() + 59 * 60_000)
    expect(await guard(visit('/x', cookie))).toBeUndefined()
    vi.setSystemTime(Date.now() + 2 * 60_000)
    expect((await guard(visit('/x', cookie)))!.status).toBe(401)
  })

  it('guards only the listed paths: a string guards itself and below, a RegExp is tested', async () => {
    const guard = instance().proxy({ paths: ['/account', /^\/admin\b/] })
    expect((await guard(visit('/account')))!.status).toBe(401)
    expect((await guard(visit('/account/x')))!.status).toBe(401)
    expect((await guard(visit('/admin/users')))!.status).toBe(401)
    expect(await guard(visit('/accounts'))).toBeUndefined()
    expect(await guard(visit('/'))).toBeUndefined()
  })

  it('redirectTo must be a path on this site', () => {
    expect(() => instance().proxy({ redirectTo: 'https://evil.example/' })).toThrow(/starting with "\/"/)
  })
})

describe('parseSetCookie (for cookies().set)', () => {
  it('keeps every attribute the engine set, for setting and for clearing', () => {
    expect(parseSetCookie('sid=abc*def; Path=/app; Domain=example.com; HttpOnly; Secure; SameSite=Strict; Partitioned', 'sid')).toEqual({
      name: 'sid', value: 'abc*def', path: '/app', domain: 'example.com', httpOnly: true, secure: true, sameSite: 'strict', partitioned: true,
    })
    expect(parseSetCookie('sid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; HttpOnly; SameSite=Lax', 'sid')).toEqual({
      name: 'sid', value: '', expires: new Date(0), maxAge: 0, path: '/', httpOnly: true, sameSite: 'lax',
    })
  })
})
