// getSession: the session of the current request, read through next/headers.
//
// Next.js gives server actions and route handlers no response object: a cookie is set with
// `cookies().set()`, and only while the action or handler runs (after() runs too late: the
// headers are gone). So the writable session commits eagerly: login(), logout(), destroy(),
// regenerate() and save() each write the store and set the cookie before they resolve. Plain data
// writes (`session.cart = ...`) are persisted by `await session.save()`, or by wrapping the action in
// `sessions.action()`, which commits when the action ends (returns, or redirects).
// Server components cannot set cookies at all: there the session is read-only (a type without
// the write methods, and SessionReadOnly at runtime), and activity is recorded after the response.

import { headers as requestHeaders, cookies as requestCookies } from 'next/headers.js'
import { after } from 'next/server.js'
import { SessionReadOnly, type Engine, type ReadonlySession, type RequestInfo, type Session } from '@sesame/core'

/** The read-write session of a server action or route handler: data writes are saved by `await session.save()`, or when a `sessions.action()` ends. */
export type ActionSession = Session

const COMMITTING = new Set(['login', 'logout', 'destroy', 'regenerate', 'save'])

async function currentRequest(readOnly: boolean): Promise<RequestInfo> {
  const headers = await requestHeaders()
  return {
    cookie: headers.get('cookie'),
    // Next's own server fills X-Forwarded-Proto from the connection when no proxy sent one.
    // The address: X-Forwarded-For weighed with trustProxy in core (no socket here either).
    encrypted: headers.get('x-forwarded-proto')?.split(',', 1)[0]?.trim() === 'https',
    forwardedFor: headers.get('x-forwarded-for'),
    forwardedProto: headers.get('x-forwarded-proto'),
    userAgent: headers.get('user-agent'),
    readOnly,
  }
}

export async function readSession(engine: Engine): Promise<ReadonlySession> {
  const info = await currentRequest(true)
  const state = await engine.load(info)
  const session = state.session as unknown as ReadonlySession
  // Reading is activity too: after the response, core refreshes the idle deadline (no cookie change,
  // at most once per touch interval), so users who only browse server-rendered pages stay logged in.
  if (!state.isNew) {
    after(async () => {
      await engine.commit(state)
    })
  }
  return session
}

/** A read-write session whose lifecycle methods commit, plus the commit itself (sets the cookie). */
async function writable(engine: Engine, cookieName: string): Promise<{ session: ActionSession; commit: () => Promise<void> }> {
  const state = await engine.load(await currentRequest(false))
  const cookieStore = await requestCookies()
  const commit = async () => {
    const setCookie = await engine.commit(state)
    if (setCookie === undefined) return
    try {
      cookieStore.set(parseSetCookie(setCookie, cookieName))
    } catch {
      // Next's ReadonlyRequestCookiesError: this is a server component, not an action or handler.
      throw new SessionReadOnly('changing the session in a server component')
    }
  }
  const session = new Proxy(state.session, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver)
      if (typeof key !== 'string' || !COMMITTING.has(key) || typeof value !== 'function') return value
      return async (...args: unknown[]) => {
        await (value as (...a: unknown[]) => Promise<void>).apply(receiver, args)
        await commit()
      }
    },
  })
  return { session, commit }
}

export async function writableSession(engine: Engine, cookieName: string): Promise<ActionSession> {
  return (await writable(engine, cookieName)).session
}

/**
 * A server action with the session committed when it ends, as withSession does for route handlers:
 * after a normal return, and after Next's own control-flow throws (redirect(), notFound()), which
 * end most actions. An application error commits nothing, like an unhandled error elsewhere.
 */
export function sessionAction<Args extends unknown[], Result>(
  engine: () => Engine,
  cookieName: string,
  action: (session: ActionSession, ...args: Args) => Promise<Result>,
): (...args: Args) => Promise<Result> {
  return async (...args) => {
    const { session, commit } = await writable(engine(), cookieName)
    let result: Result
    try {
      result = await action(session, ...args)
    } catch (error) {
      if (await isNextControlFlow(error)) await commit()
      throw error
    }
    await commit()
    return result
  }
}

async function isNextControlFlow(error: unknown): Promise<boolean> {
  // Loaded only on this path: next/navigation pulls in client-side modules.
  const { unstable_rethrow } = await import('next/navigation.js')
  try {
    unstable_rethrow(error)
    return false
  } catch {
    return true
  }
}

/** Next's cookies().set() takes options, not a header: translate the engine's Set-Cookie value. */
export function parseSetCookie(header: string, name: string) {
  const [pair, ...attributes] = header.split('; ')
  const cookie: {
    name: string
    value: string
    path?: string
    domain?: string
    httpOnly?: boolean
    secure?: boolean
    sameSite?: 'lax' | 'strict' | 'none'
    partitioned?: boolean
    expires?: Date
    maxAge?: number
  } = { name, value: pair!.slice(name.length + 1) }
  for (const attribute of attributes) {
    const equals = attribute.indexOf('=')
    const key = (equals === -1 ? attribute : attribute.slice(0, equals)).toLowerCase()
    const value = equals === -1 ? '' : attribute.slice(equals + 1)
    if (key === 'path') cookie.path = value
    else if (key === 'domain') cookie.domain = value
    else if (key === 'httponly') cookie.httpOnly = true
    else if (key === 'secure') cookie.secure = true
    else if (key === 'samesite') cookie.sameSite = value.toLowerCase() as 'lax' | 'strict' | 'none'
    else if (key === 'partitioned') cookie.partitioned = true
    else if (key === 'expires') cookie.expires = new Date(value)
    else if (key === 'max-age') cookie.maxAge = Number(value)
  }
  return cookie
}
