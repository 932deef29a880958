// @sesame/next: translation between the Next.js App Router and the sesame engine.
// One instance per app (lib/session.ts), shared by every route file:
//   withSession(handler)  route handlers and any fetch-style server: commit on the returned Response
//   getSession()          server components: read-only;  getSession({ writable: true }): server actions
//   action(fn)            a server action with the session committed when it ends
//   proxy(options)        proxy.ts: optimistic cookie-only check, no store access

import { createEngine, resolveOptions, SessionConfigError, type Engine, type ReadonlySession, type ResolvedOptions, type SessionOptions, type SessionStore } from '@sesame/core'
import { optionsThatDiffer } from './options-differ.js'
import { readSession, sessionAction, writableSession, type ActionSession } from './get-session.js'
import { createProxy, type ProxyOptions, type SessionProxy } from './proxy.js'
import { wrap, type FetchHandler, type SessionHandler } from './with-session.js'

export type { Session, SessionOptions, ReadonlySession } from '@sesame/core'
export type { ActionSession } from './get-session.js'
export type { ProxyOptions, SessionProxy } from './proxy.js'
export type { FetchHandler, SessionContext, SessionHandler } from './with-session.js'
export { withSetCookie } from './with-session.js'

export interface NextSessionOptions extends Omit<SessionOptions, 'store'> {
  /**
   * A store, or a function that makes one. Prefer the function: it runs once per process, so a
   * dev-mode module reload never builds a second store (or a second Redis connection).
   * Default: core's memoryStore().
   */
  store?: SessionStore | (() => SessionStore)
  /**
   * Keep one instance per process and cookie name on globalThis (default true), so module reloads
   * and separate route bundles share one engine and one store. `false` gives an independent
   * instance: for tests that run several differently configured apps in one process.
   */
  shared?: boolean
}

export interface NextSessions {
  /** Wrap a route handler (or any `(Request, ctx) => Response`): `ctx.session`, committed on the Response. */
  withSession<Context = unknown>(handler: SessionHandler<Context>): FetchHandler<Context>
  /** Server components: the session, read-only (writes are a type error and throw SessionReadOnly). */
  getSession(): Promise<ReadonlySession>
  /** Server actions and route handlers: read-write; login/logout/destroy/regenerate/save set the cookie. */
  getSession(options: { writable: true }): Promise<ActionSession>
  /**
   * A server action that gets the writable session as its first argument and commits it when the
   * action ends (returns, or calls redirect()/notFound()): data writes need no save().
   */
  action<Args extends unknown[], Result>(action: (session: ActionSession, ...args: Args) => Promise<Result>): (...args: Args) => Promise<Result>
  /** For proxy.ts: redirect (or 401) requests on guarded paths that carry no plausible session cookie. */
  proxy(options?: ProxyOptions): SessionProxy
  /** List and revoke users' sessions: see @sesame/core's Engine. Created on first use. */
  readonly engine: Engine
  /** Flush audit sinks, stop timers, forget this instance (tests, graceful shutdown). */
  close(): Promise<void>
}

/** A shared instance and the options it was made with (to compare a later call's against). */
interface Registered {
  instance: NextSessions
  options: NextSessionOptions
}

/**
 * The app's sessions. Call it once in a shared module; calling it again in the same process with
 * the same cookie name and the same options (dev-mode reloads, several route bundles) returns the
 * first instance. Other options for that cookie name throw a SessionConfigError naming them.
 */
export function nextSession(options: NextSessionOptions): NextSessions {
  const { store, shared = true, ...rest } = options
  const cookieName = options.cookie?.name ?? 'sid'
  const key = Symbol.for(`@sesame/next:${cookieName}`)
  const registry = (shared ? globalThis : {}) as unknown as Record<symbol, Registered | undefined>
  const existing = registry[key]
  if (existing) {
    const differ = optionsThatDiffer(existing.options, options)
    if (differ.length === 0) return existing.instance
    throw new SessionConfigError(
      `nextSession() was already called in this process for the cookie "${cookieName}" with other options (differing: ${differ.join(', ')}). ` +
        'Every call for one cookie name shares one instance: create it once in a shared module (lib/session.ts) and import it, give the other instance its own cookie name, or pass shared: false. ' +
        'After changing the options in `next dev`, restart the dev server.',
    )
  }

  // Checked now, so a bad secret fails at start-up; the engine (and its store) come on first use.
  const resolved: ResolvedOptions = resolveOptions(rest)
  let engine: Engine | undefined
  const getEngine = () => (engine ??= createEngine({ ...rest, store: typeof store === 'function' ? store() : store }))

  const instance: NextSessions = {
    withSession: (handler) => wrap(getEngine, handler),
    getSession: ((getOptions?: { writable?: boolean }) =>
      getOptions?.writable === true ? writableSession(getEngine(), resolved.cookie.name) : readSession(getEngine())) as NextSessions['getSession'],
    action: (action) => sessionAction(getEngine, resolved.cookie.name, action),
    proxy: (proxyOptions) => createProxy(() => resolved, proxyOptions),
    get engine() {
      return getEngine()
    },
    async close() {
      if (registry[key]?.instance === instance) delete registry[key]
      await engine?.close()
    },
  }
  registry[key] = { instance, options }
  return instance
}
