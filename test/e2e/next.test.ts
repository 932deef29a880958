// The real thing: `next build` + `next start` of examples/next-app, driven over HTTP the way a
// browser without JavaScript would: server-action forms are posted as multipart with their
// hidden action field, cookies are kept in a jar, redirects are looked at, not followed.
import { spawn, execFileSync, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { builtEntry } from '../support/built.js'
import { misnested } from './html-nesting.js'

const appDir = fileURLToPath(new URL('../../examples/next-app/', import.meta.url))
const nextBin = `${appDir}node_modules/next/dist/bin/next`
// A short idle timeout (read at start-up, not at build time) so the test can show that reads in
// server components keep a session alive. Every step of the walk-through is far quicker than that.
const IDLE_MS = 4000
// The app's audit trail (fileSink) goes to a directory of the test's own; its key lands beside it.
const auditDir = mkdtempSync(join(tmpdir(), 'sesame-next-audit-'))
const auditLog = join(auditDir, 'audit.log')
const env = {
  ...process.env,
  NEXT_TELEMETRY_DISABLED: '1',
  SESSION_SECRET: 'e2e-secret-that-is-long-enough-0123456789',
  SESSION_IDLE_TIMEOUT: String(IDLE_MS),
  AUDIT_LOG: auditLog,
  // As the app's `start` script sets it: the app closes its audit sink on SIGTERM, then exits.
  NEXT_MANUAL_SIG_HANDLE: 'true',
}
const GENERATE = `node -e "console.log(crypto.randomBytes(32).toString('base64url'))"`

let server: ChildProcess | undefined
let base = ''
let output = ''

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}

/** A cookie jar for one browser. */
class Browser {
  readonly cookies = new Map<string, string>()

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    if (this.cookies.size > 0) headers.set('Cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '))
    headers.set('User-Agent', 'sesame-e2e')
    const res = await fetch(base + path, { ...init, headers, redirect: 'manual' })
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';', 1)
      const name = pair!.slice(0, pair!.indexOf('='))
      const value = pair!.slice(name.length + 1)
      if (value === '' || /Max-Age=0/i.test(line)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return res
  }

  /** A page's HTML, checked to parse into the tree its markup spells out (no hydration mismatch). */
  async page(path: string): Promise<string> {
    const res = await this.fetch(path)
    expect(res.status, `GET ${path}`).toBe(200)
    const html = await res.text()
    expect(misnested(html), `HTML nesting of ${path}`).toEqual([])
    return html
  }

  /** Submit the page's server-action form that contains `marker`, as a browser without JS does. */
  async submitAction(pagePath: string, marker: string, fields: Record<string, string> = {}): Promise<Response> {
    const html = await (await this.fetch(pagePath)).text()
    const form = html.split('<form').find((chunk) => chunk.includes(marker))
    expect(form, `a form with ${marker} on ${pagePath}`).toBeDefined()
    const actionField = /name="(\$ACTION_ID_[0-9a-f]+)"/.exec(form!)?.[1]
    expect(actionField, 'server action id').toBeDefined()
    const body = new FormData()
    body.set(actionField!, '')
    for (const match of form!.matchAll(/<input type="hidden" name="([^"$][^"]*)" value="([^"]*)"/g)) body.set(match[1]!, match[2]!)
    for (const [name, value] of Object.entries(fields)) body.set(name, value)
    return this.fetch(pagePath, { method: 'POST', body, headers: { Origin: base } })
  }
}

describe('examples/next-app: next build + next start', () => {
  beforeAll(async () => {
    // `pnpm test` builds the app through turbo first; a lone run of this file builds it here.
    if (!existsSync(`${appDir}.next/BUILD_ID`)) execFileSync(process.execPath, [nextBin, 'build'], { cwd: appDir, env, stdio: 'inherit' })
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    server = spawn(process.execPath, [nextBin, 'start', '-p', String(port), '-H', '127.0.0.1'], { cwd: appDir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    server.stdout!.on('data', (chunk: Buffer) => (output += chunk))
    server.stderr!.on('data', (chunk: Buffer) => (output += chunk))
    const deadline = Date.now() + 60_000
    for (;;) {
      if (server.exitCode !== null) throw new Error(`next start exited:\n${output}`)
      try {
        await fetch(base + '/api/edge', { redirect: 'manual' })
        break
      } catch {
        if (Date.now() > deadline) throw new Error(`next start did not answer:\n${output}`)
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }
  }, 300_000)

  afterAll(async () => {
    await stopServer()
    rmSync(auditDir, { recursive: true, force: true })
  })

  async function stopServer(): Promise<void> {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve))
      server.kill('SIGTERM')
      // Next exits on SIGTERM; if it ever hangs, do not leave it running after the suite.
      const stuck = setTimeout(() => server!.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(stuck)
    }
  }

  it('walks the app: guard, login, user page, counter, logout, dead old cookie', async () => {
    const browser = new Browser()

    // The proxy turns a visitor without a session away from the protected area.
    const guarded = await browser.fetch('/sessions')
    expect(guarded.status).toBe(307)
    expect(guarded.headers.get('location')).toMatch(/^(http:\/\/127\.0\.0\.1:\d+)?\/\?next=%2Fsessions$/)
    // ...and one with a forged cookie too.
    const forger = new Browser()
    forger.cookies.set('sid', 'Fe26.2*forged*cookie')
    expect((await forger.fetch('/sessions')).status).toBe(307)

    // A wrong password: back to the form, no session created.
    const wrong = await browser.submitAction('/', 'Log in', { username: 'alice', password: 'nope' })
    expect(wrong.status).toBe(303)
    expect(wrong.headers.get('location')).toBe('/?error=login')
    expect(browser.cookies.has('sid')).toBe(false)

    // Log in with the server action; it sends the browser where the proxy wanted to go.
    const login = await browser.submitAction('/?next=%2Fsessions', 'Log in', { username: 'alice', password: 'wonderland' })
    expect(login.status).toBe(303)
    expect(login.headers.get('location')).toBe('/sessions')
    expect(browser.cookies.get('sid')).toMatch(/^Fe26\.2\*/)
    const oldCookie = browser.cookies.get('sid')!

    // The protected page (a server component) renders the user's sessions, this one marked.
    const sessionsPage = await browser.fetch('/sessions')
    expect(sessionsPage.status).toBe(200)
    const sessionsHtml = await sessionsPage.text()
    expect(sessionsHtml).toMatch(/Alice(<!-- -->)?(&#x27;|')s active sessions/)
    expect(sessionsHtml).toContain('<b>this browser</b>')

    // The home page renders the user, and the data the login action wrote after login().
    const home = await (await browser.fetch('/')).text()
    expect(home).toMatch(/Hello, (<!-- -->)?Alice/)
    expect(home).toMatch(/id="since">Logged in since (<!-- -->)?\d{4}-\d\d-\d\dT/)

    // The counter route handler counts in the session (JSON, and the form target's redirect).
    expect(await (await browser.fetch('/api/count')).json()).toEqual({ count: 1, user: 'alice' })
    expect(await (await browser.fetch('/api/count')).json()).toEqual({ count: 2, user: 'alice' })
    const plusOne = await browser.fetch('/count', { method: 'POST' })
    expect(plusOne.status).toBe(303)
    expect(await (await browser.fetch('/')).text()).toMatch(/id="count">3</)

    // A second browser logs in as alice; the first revokes it from the sessions page.
    const other = new Browser()
    expect((await other.fetch('/api/login', { method: 'POST', body: new URLSearchParams({ username: 'alice', password: 'wonderland' }) })).status).toBe(200)
    expect((await other.fetch('/api/count')).status).toBe(200)
    expect(await (await browser.fetch('/sessions')).text()).toContain('sesame-e2e')
    const revoke = await browser.submitAction('/sessions', 'Log out everywhere else')
    expect(revoke.status).toBe(303)
    expect(await (await other.fetch('/api/count')).json()).toEqual({ count: 1, user: null })

    // Log out with the server action: the session is gone; the browser gets a fresh anonymous one
    // that holds the one-time "logged out" message...
    const logout = await browser.submitAction('/', 'Log out')
    expect(logout.status).toBe(303)
    expect(logout.headers.get('location')).toBe('/')
    expect(browser.cookies.get('sid')).toMatch(/^Fe26\.2\*/)
    expect(browser.cookies.get('sid')).not.toBe(oldCookie)
    const afterLogout = await browser.page('/')
    expect(afterLogout).toContain('id="flash">You have been logged out.</p>')
    expect(afterLogout).toContain('Log in')
    // ...shown once: a reload no longer shows it (the message is gone from the session, and so is
    // the marker cookie that sent the request through the proxy's session load).
    expect(browser.cookies.has('flash')).toBe(false)
    expect(await browser.page('/')).not.toContain('You have been logged out.')

    // ...and the old cookie is dead: a fresh anonymous session, and the page refuses it
    // (the proxy lets a well-formed cookie through; the page's store check is authoritative).
    const replay = new Browser()
    replay.cookies.set('sid', oldCookie)
    expect(await (await replay.fetch('/api/count')).json()).toEqual({ count: 1, user: null })
    const replayed = new Browser()
    replayed.cookies.set('sid', oldCookie)
    const refused = await replayed.fetch('/sessions')
    expect(refused.status).toBe(307)
    expect(refused.headers.get('location')).toBe('/?next=/sessions')
  })

  it('server-component reads count as activity; a session left alone expires after the idle timeout', async () => {
    const reader = new Browser()
    const idle = new Browser()
    const idleHome = new Browser()
    for (const browser of [reader, idle, idleHome]) {
      const res = await browser.fetch('/api/login', { method: 'POST', body: new URLSearchParams({ username: 'bob', password: 'builder' }) })
      expect(res.status).toBe(200)
    }
    // The reader only loads the home page (a server component, read-only session) for 1.5 idle timeouts.
    const until = Date.now() + IDLE_MS * 1.5
    while (Date.now() < until) {
      expect(await (await reader.fetch('/')).text()).toMatch(/Hello, (<!-- -->)?Bob/)
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS / 5))
    }
    expect(await (await reader.fetch('/api/count')).json()).toEqual({ count: 1, user: 'bob' })
    expect(await (await idle.fetch('/api/count')).json()).toEqual({ count: 1, user: null })
    // Expired on the home page too (the audit test below checks it is reported once, as expired).
    expect(await (await idleHome.fetch('/')).text()).toContain('Log in')
  }, 30_000)

  it('every page parses into the tree React rendered (no <form> inside a <p>: no hydration error)', async () => {
    const browser = new Browser()
    await browser.page('/')
    await browser.page('/?error=login')
    await browser.page('/?next=%2Fsessions')
    expect((await browser.fetch('/api/login', { method: 'POST', body: new URLSearchParams({ username: 'alice', password: 'wonderland' }) })).status).toBe(200)
    const other = new Browser()
    expect((await other.fetch('/api/login', { method: 'POST', body: new URLSearchParams({ username: 'alice', password: 'wonderland' }) })).status).toBe(200)
    expect(await browser.page('/')).toMatch(/Hello, (<!-- -->)?Alice/)
    // Two rows, one with a Revoke form in its cell.
    expect(await browser.page('/sessions')).toContain('Revoke')
  })

  it("the sessions page shows each session's client address", async () => {
    const browser = new Browser()
    expect((await browser.fetch('/api/login', { method: 'POST', body: new URLSearchParams({ username: 'bob', password: 'builder' }) })).status).toBe(200)
    const html = await browser.page('/sessions')
    const rows = [...html.matchAll(/<tr><td>(.*?)<\/td><td>(.*?)<\/td>/g)].map((match) => match[2])
    expect(rows.length).toBeGreaterThan(0)
    // `next start` fills X-Forwarded-For with the connection's address (the test connects over loopback).
    for (const address of rows) expect(address).toBe('127.0.0.1')
  })

  it('the flash reaches the page only from the session, never from a header the client sends', async () => {
    const browser = new Browser()
    const html = await browser.page('/')
    expect(html).not.toContain('id="flash"')
    const forgedHeader = { 'x-example-flash': encodeURIComponent('Your account is locked: call 555-0100') }
    expect(await (await browser.fetch('/', { headers: forgedHeader })).text()).not.toContain('555-0100')
    // ...also not with a marker cookie of its own, when its session holds no message.
    browser.cookies.set('flash', '1')
    expect(await (await browser.fetch('/', { headers: forgedHeader })).text()).not.toContain('555-0100')
  })

  it('runs the same core on the edge runtime', async () => {
    const browser = new Browser()
    expect(await (await browser.fetch('/api/edge')).json()).toEqual({ hits: 1, runtime: 'edge' })
    expect(await (await browser.fetch('/api/edge')).json()).toEqual({ hits: 2, runtime: 'edge' })
    expect(browser.cookies.get('edge_sid')).toMatch(/^Fe26\.2\*/)
  })

  it('writes an audit trail with fileSink, closed on SIGTERM: sesame-audit reads and verifies it', async () => {
    await stopServer()
    const cli = builtEntry('audit-log', 'cli.js')
    const keyFile = join(auditDir, '.sesame-audit', 'key')
    const query = spawnSync(process.execPath, [cli, 'query', '--json', '--key-file', keyFile, auditLog], { encoding: 'utf8' })
    expect(query.status, query.stderr).toBe(0)
    const events = query.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; sessionRef: string; reason?: string; userId?: string; ip?: string })
    const types = new Set(events.map((event) => event.type))
    // An expired session is reported as expired, and only that: never also as an unknown (forged) one.
    const expired = new Set(events.filter((event) => event.type === 'session.expired').map((event) => event.sessionRef))
    expect(expired.size).toBeGreaterThanOrEqual(2)
    expect(events.filter((event) => event.type === 'session.rejected' && expired.has(event.sessionRef))).toEqual([])
    for (const type of ['session.created', 'session.login', 'session.logout', 'session.revoked', 'session.expired']) expect(types, type).toContain(type)
    expect(events.find((event) => event.type === 'session.login')).toMatchObject({ userId: 'alice', ip: '127.0.0.1' })
    const verify = spawnSync(process.execPath, [cli, 'verify', '--key-file', keyFile, auditLog], { encoding: 'utf8' })
    expect(verify.status, verify.stdout + verify.stderr).toBe(0)
  })
})

describe('examples/next-app: next start without a usable SESSION_SECRET', () => {
  it.each([
    ['missing', undefined, 'SESSION_SECRET is not set'],
    ['short', 'only-20-characters!!', 'SESSION_SECRET is 20 characters'],
  ])('a %s secret stops the start with one line naming SESSION_SECRET and how to generate one', async (_case, secret, start) => {
    const port = await freePort()
    const { SESSION_SECRET: _ignored, ...rest } = env
    const child = spawnSync(process.execPath, [nextBin, 'start', '-p', String(port), '-H', '127.0.0.1'], {
      cwd: appDir,
      env: secret === undefined ? rest : { ...rest, SESSION_SECRET: secret },
      encoding: 'utf8',
      timeout: 30_000, // it takes about a second; a server that keeps running is the failure
    })
    // It stops at start-up, without being asked a single request, and prints no stack trace.
    expect(child.status).toBe(1)
    expect(child.stderr.trim().split('\n')).toEqual([`${start}; sesame needs at least 32 random characters. Generate one with: ${GENERATE}`])
    expect(child.stdout).not.toMatch(/^\s+at /m)
  }, 90_000)
})
