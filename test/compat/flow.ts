// Drive an app through a list of steps over real HTTP, as one browser would (a cookie jar of one
// session cookie), and record what a user would notice at each step: status, body, redirect target,
// and the session cookie the browser holds afterwards (none, a browser-session cookie, or a persistent
// one and roughly how long it lasts). Running the same steps against the peer library and against
// sesame and comparing the two lists is the compat test.

import type { Server } from 'node:http'
import request from 'supertest'

export interface Step {
  name: string
  method: 'GET' | 'POST'
  path: string
  form?: Record<string, string>
  /**
   * The app destroyed the session in this step. express-session then leaves the dead cookie in the
   * browser (it never sends a clearing Set-Cookie); sesame clears it. A cookie left untouched by such
   * a response names no session any more, so the browser's state counts as "none" either way, and
   * `cleared` records whether the response actually cleared it.
   */
  endsSession?: boolean
}

export type CookieState = { kind: 'none' } | { kind: 'session' } | { kind: 'persistent'; lifetimeMinutes: number }

export interface Observation {
  step: string
  status: number
  body: string
  location: string | undefined
  cookie: CookieState
}

interface JarCookie {
  value: string
  expiresAt: number | undefined
}

/** The session cookie's fate from one Set-Cookie line: set (with its expiry, if any) or removed. */
function parseSetCookie(line: string): { name: string; cookie: JarCookie | undefined } {
  const [pair, ...attributes] = line.split(';').map((part) => part.trim())
  const eq = pair!.indexOf('=')
  const name = pair!.slice(0, eq)
  const value = pair!.slice(eq + 1)
  let expiresAt: number | undefined
  for (const attribute of attributes) {
    const [key, raw] = attribute.split('=')
    const lower = key!.toLowerCase()
    // Max-Age wins over Expires (RFC 6265 5.3).
    if (lower === 'max-age') expiresAt = Date.now() + Number(raw) * 1000
    else if (lower === 'expires' && !attributes.some((a) => a.toLowerCase().startsWith('max-age='))) expiresAt = Date.parse(raw!)
  }
  const removed = value === '' || (expiresAt !== undefined && expiresAt <= Date.now())
  return { name, cookie: removed ? undefined : { value, expiresAt } }
}

/** Run `steps` against `server`; `cookieName` is the session cookie's name in this app (others are ignored). */
export async function runFlow(server: Server, cookieName: string, steps: readonly Step[]): Promise<{ observations: Observation[]; cleared: Record<string, boolean> }> {
  const jar = new Map<string, string>() // every cookie the browser holds (e.g. koa-session's .sig), name -> value
  let session: JarCookie | undefined
  const observations: Observation[] = []
  const cleared: Record<string, boolean> = {}
  for (const step of steps) {
    let call = step.method === 'GET' ? request(server).get(step.path) : request(server).post(step.path)
    if (jar.size > 0) call = call.set('Cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '))
    if (step.form) call = call.type('form').send(step.form)
    const res = await call.redirects(0)
    let touched = false
    for (const line of (res.headers['set-cookie'] as unknown as string[] | undefined) ?? []) {
      const { name, cookie } = parseSetCookie(line)
      if (cookie) jar.set(name, cookie.value)
      else jar.delete(name)
      if (name !== cookieName) continue
      touched = true
      session = cookie
      if (step.endsSession) cleared[step.name] = cookie === undefined
    }
    if (step.endsSession && !touched) {
      cleared[step.name] = false
      session = undefined // names a destroyed session: as good as none
    }
    let state: CookieState = { kind: 'none' }
    if (session) {
      state = session.expiresAt === undefined ? { kind: 'session' } : { kind: 'persistent', lifetimeMinutes: Math.round((session.expiresAt - Date.now()) / 60_000) }
    }
    observations.push({ step: step.name, status: res.status, body: res.text, location: res.headers.location as string | undefined, cookie: state })
  }
  return { observations, cleared }
}

export async function listen(server: Server): Promise<Server> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

export async function close(server: Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()))
}
