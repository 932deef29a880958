// @sesame/express: translation between Express and the sesame engine, nothing more.
// Reads the cookie header, client address and protocol; holds the response until the engine has
// committed; hands store errors to next(err) while headers are still unsent.

import { IncomingMessage, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { createEngine, translateOptions, type CookieOptions, type Engine, type RequestState, type Session, type SessionOptions } from '@sesame/core'
import { holdResponse, installHoldWrappers } from '@sesame/core/node-http'
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

export function session(options: ExpressSessionOptions): SessionMiddleware {
  const engine = createEngine(translateOptions(options, 'express').options)

  /** `req.session = null` (or `delete req.session`) destroys the session, then the commit runs. */
  const commitFor = (req: Request, state: RequestState): Promise<string | undefined> => {
    const current = Reflect.get(req, 'session') as unknown
    if (current === null || current === undefined) return state.session.destroy().then(() => engine.commit(state))
    return engine.commit(state)
  }

  const attach = (req: Request, res: Response, next: NextFunction, socket: object | null, state: RequestState): void => {
    defineSessionId(Object.getPrototypeOf(req) as object | null)
    req.session = state.session
    holdResponse(res, () => commitFor(req, state), next, expressResponse(res), socket)
    next()
  }

  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    // Reflect.get and Object.hasOwn, not req.x: Express gives each request a new hidden class, so a
    // plain read misses its inline cache every time (see @sesame/core/node-http); these do not.
    if (Object.hasOwn(req, 'session')) return next()
    const headers = Reflect.get(req, 'headers') as Request['headers']
    const socket = Reflect.get(req, 'socket') as Request['socket']
    const url = (Reflect.get(req, 'originalUrl') ?? Reflect.get(req, 'url') ?? '') as string
    const query = url.indexOf('?')
    const path = query === -1 ? url : url.slice(0, query)
    // Outside cookie.path there is no session and no cookie (as express-session).
    if (!engine.appliesTo(path)) return next()
    let loaded: RequestState | Promise<RequestState>
    try {
      loaded = engine.load({
        cookie: headers.cookie,
        encrypted: (socket as TLSSocket).encrypted === true,
        remoteAddress: socket.remoteAddress,
        forwardedFor: headers['x-forwarded-for'] as string | undefined,
        forwardedProto: headers['x-forwarded-proto'] as string | undefined,
        userAgent: headers['user-agent'],
        method: Reflect.get(req, 'method') as string,
        path,
        flavour: 'express',
      })
    } catch (error) {
      return next(error)
    }
    if (loaded instanceof Promise) loaded.then((state) => attach(req, res, next, socket, state), next)
    else attach(req, res, next, socket, loaded)
  }

  return Object.assign(middleware, { engine, close: () => engine.close() })
}

/** Request prototypes that have the sessionID accessor. */
const withSessionId = new WeakSet<object>()

/**
 * express-session's `req.sessionID`, as an accessor on the request's prototype: the app's own
 * `app.request` object (each Express app has its own; never Express's shared `request` or Node's
 * IncomingMessage.prototype), so no property is added to each request. It reads `req.session.id`.
 */
function defineSessionId(proto: object | null): void {
  if (proto === null || withSessionId.has(proto)) return
  withSessionId.add(proto)
  if (Object.hasOwn(proto, 'sessionID') || proto === IncomingMessage.prototype) return
  Object.defineProperty(proto, 'sessionID', {
    configurable: true,
    enumerable: false,
    get(this: Request): string | undefined {
      const current = Reflect.get(this, 'session') as Session | null | undefined
      return current && typeof current === 'object' ? current.id : undefined
    },
  })
}

/** Response prototypes already checked: the one below Node's ServerResponse.prototype, or undefined. */
const frameworkPrototypes = new WeakMap<object, object | undefined>()

/**
 * Express gives every response its app's prototype, which inherits Express's own response object,
 * which inherits Node's ServerResponse.prototype. Installing the hold wrappers once on Express's
 * response object (never on Node's) lets each request hold its response without adding own methods
 * to it (see @sesame/core/node-http). A response without that chain gets own wrappers instead.
 */
function expressResponse(res: Response): object | undefined {
  const direct = Object.getPrototypeOf(res) as object | null
  if (direct === null) return undefined
  if (frameworkPrototypes.has(direct)) return frameworkPrototypes.get(direct)
  let base: object | null = direct
  while (base !== null && Object.getPrototypeOf(base) !== ServerResponse.prototype) base = Object.getPrototypeOf(base) as object | null
  const found = base === null || base === ServerResponse.prototype ? undefined : base
  if (found !== undefined) installHoldWrappers(found)
  frameworkPrototypes.set(direct, found)
  return found
}
