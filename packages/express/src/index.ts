// @sesame/express: translation between Express and the sesame engine, nothing more.
// Reads the cookie header, client address and protocol; holds the response until the engine has
// committed; hands store errors to next(err) while headers are still unsent.

import { ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { createEngine, type Engine, type RequestState, type Session, type SessionOptions } from '@sesame/core'
import { holdResponse, installHoldWrappers } from '@sesame/core/node-http'
import type { NextFunction, Request, RequestHandler, Response } from 'express'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The sesame session: plain data properties plus id, meta, login(), logout(), ... */
      session: Session
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

export function session(options: SessionOptions): SessionMiddleware {
  const engine = createEngine(options)

  const attach = (req: Request, res: Response, next: NextFunction, socket: object | null, state: RequestState): void => {
    req.session = state.session
    holdResponse(res, () => engine.commit(state), next, expressResponse(res), socket)
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
        path: query === -1 ? url : url.slice(0, query),
      })
    } catch (error) {
      return next(error)
    }
    if (loaded instanceof Promise) loaded.then((state) => attach(req, res, next, socket, state), next)
    else attach(req, res, next, socket, loaded)
  }

  return Object.assign(middleware, { engine, close: () => engine.close() })
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
