// The real thing: `next build` + `next start` of examples/next-app, driven over HTTP the way a
// browser without JavaScript would: server-action forms are posted as multipart with their
// hidden action field, cookies are kept in a jar, redirects are looked at, not followed.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const appDir = fileURLToPath(new URL('../../examples/next-app/', import.meta.url))
const nextBin = `${appDir}node_modules/next/dist/bin/next`
// A short idle timeout (read at start-up, not at build time) so the test can show that reads in
// server components keep a session alive. Every step of the walk-through is far quicker than that.
const IDLE_MS = 4000
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', SESSION_SECRET: 'e2e-secret-that-is-long-enough-0123456789', SESSION_IDLE_TIMEOUT: String(IDLE_MS) }

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
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve))
      server.kill('SIGTERM')
      // Next exits on SIGTERM; if it ever hangs, do not leave it running after the suite.
      const stuck = setTimeout(() => server!.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(stuck)
    }
  })

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

    // Log out with the server action: the cookie is cleared...
    const logout = await browser.submitAction('/', 'Log out')
    expect(logout.status).toBe(303)
    expect(browser.cookies.has('sid')).toBe(false)

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
    for (const browser of [reader, idle]) {
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
  }, 30_000)

  it('runs the same core on the edge runtime', async () => {
    const browser = new Browser()
    expect(await (await browser.fetch('/api/edge')).json()).toEqual({ hits: 1, runtime: 'edge' })
    expect(await (await browser.fetch('/api/edge')).json()).toEqual({ hits: 2, runtime: 'edge' })
    expect(browser.cookies.get('edge_sid')).toMatch(/^Fe26\.2\*/)
  })
})
