// @sesame/express: translation between Express and the sesame engine, nothing more.
// Reads the cookie header, and the client address and protocol as Express decides them (its own
// `trust proxy` setting); holds this request's response until the engine has committed; hands store
// errors to next(err) while headers are still unsent.

import { createEngine, replaceData, translateOptions, type CookieOptions, type Engine, type RequestInfo, type RequestState, type Session, type SessionOptions } from '@sesame/core'
import { holdResponse, warnTrustProxyIgnored } from '@sesame/core/node-http'
import type { NextFunction, Request, RequestHandler, Response } from 'express'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The sesame session: plain data properties plus id, meta, login(), logout(), ... `req.session = null` destroys it. */
      session: Session
      /** express-session's req.sessionID: the session's id (as `req.session.id`). */
      readonly sessionID: string | undefined
    }
  }
}

export interface SessionMiddleware extends RequestHandler {
  /** List and revoke users' sessions, flush audit sinks: see @sesame/core's Engine. */
  readonly engine: Engine
  /** Flush audit sinks and stop timers (call on shutdown). */
  close(): Promise<void>
}

export type { Session, SessionOptions } from '@sesame/core'

export { expressSessionStore } from '@sesame/core'

/**
 * sesame's options, plus express-session's names (`name`, `resave`, `rolling`, `unset`, `proxy`,
 * `genid`, `cookie.maxAge`, `cookie.expires`, `cookie.priority`): each is mapped, or accepted with one
 * start-up warning, or refused when it would weaken security (see the README's table). `store` may be
 * an express-session Store (connect-redis, memorystore, ...): it is wrapped by expressSessionStore().
 */
export type ExpressSessionOptions = Omit<SessionOptions, 'cookie' | 'store'> & {
  store?: SessionOptions['store'] | { get: unknown; set: unknown; destroy: unknown }
  cookie?: CookieOptions & { maxAge?: number | null; expires?: Date | null; priority?: string; sameSite?: CookieOptions['sameSite'] | true }
  name?: string
  resave?: boolean
  rolling?: boolean
  unset?: 'destroy' | 'keep'
  proxy?: boolean
  genid?: (req: Request) => string
}

/**
 * The descriptor of `req.sessionID`, one for every request: the id of the request's `req.session`
 * (undefined once the app set `req.session = null`). Defining the same getter on each request costs
 * ~4 µs of server CPU per request; a fresh descriptor and closure per request cost ~12 µs (measured
 * over HTTP, bare Express 86 µs per request), as V8 builds each request's shape anew either way.
 */
const SESSION_ID: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get(this: Request): string | undefined {
    return (this.session as Session | null | undefined)?.id as string | undefined
  },
}

/**
 * What the engine learns about an Express request. The client address and protocol are Express's own
 * answers, which honour the app's `trust proxy` setting (proxy-addr); no forwarded headers are passed
 * on, so sesame's trustProxy has nothing to decide here. Both are getters the engine reads only when it
 * needs them (an event, a new session's record or cookie): req.ip and req.protocol are not free on
 * Express. A class, so the getters live on one prototype instead of being built for every request.
 */
class ExpressRequestInfo implements RequestInfo {
  readonly cookie: string | undefined
  readonly userAgent: string | undefined
  readonly method: string
  readonly path: string
  readonly flavour = 'express' as const
  readonly #req: Request

  constructor(req: Request, path: string) {
    this.#req = req
    this.cookie = req.headers.cookie
    this.userAgent = req.headers['user-agent']
    this.method = req.method
    this.path = path
  }

  get remoteAddress(): string | undefined {
    return this.#req.ip
  }

  get encrypted(): boolean {
    return this.#req.protocol === 'https'
  }
}

export function session(options: ExpressSessionOptions): SessionMiddleware {
  if (options?.trustProxy !== undefined) {
    warnTrustProxyIgnored(
      '@sesame/express',
      "the client address and protocol come from Express's req.ip and req.protocol. Behind a proxy, set Express's own setting instead, e.g. app.set('trust proxy', 1) for one proxy in front (https://expressjs.com/en/guide/behind-proxies.html).",
    )
  }
  const engine = createEngine(translateOptions(options, 'express').options)

  const load = (req: Request, path: string): Promise<RequestState> => engine.load(new ExpressRequestInfo(req, path))

  /**
   * express-session's `unset: 'destroy'`: `req.session = null` (or `delete req.session`) destroys it first.
   * `req.session = { ... }`: that object's data replaces the session's (same id), as koa-session's
   * `ctx.session = { ... }` does; the session object is put back on `req.session`.
   */
  const commit = (req: Request, state: RequestState): Promise<string | undefined> => {
    const current = req.session as unknown
    if (current == null) return state.session.destroy().then(() => engine.commit(state))
    if (current !== state.session) {
      replaceData(state, current, 'req.session')
      req.session = state.session
    }
    return engine.commit(state)
  }

  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    // Mounted twice (app and router): the first mount's session and hold serve the request.
    if (req.session !== undefined) return next()
    const url = req.originalUrl ?? req.url ?? ''
    const query = url.indexOf('?')
    const path = query === -1 ? url : url.slice(0, query)
    // Outside cookie.path there is no session and no cookie (as express-session).
    if (!engine.appliesTo(path)) return next()
    load(req, path).then((state) => {
      req.session = state.session
      // express-session's req.sessionID: an accessor on this request only (no prototype is touched).
      Object.defineProperty(req, 'sessionID', SESSION_ID)
      holdResponse(res, () => commit(req, state), next)
      next()
    }, next)
  }

  return Object.assign(middleware, { engine, close: () => engine.close() })
}
