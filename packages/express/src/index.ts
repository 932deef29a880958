// @sesame/express: translation between Express and the sesame engine, nothing more.
// Reads the cookie header, and the client address and protocol as Express decides them (its own
// `trust proxy` setting); holds this request's response until the engine has committed; hands store
// errors to next(err) while headers are still unsent.

import { createEngine, type Engine, type RequestState, type Session, type SessionOptions } from '@sesame/core'
import { holdResponse } from '@sesame/core/node-http'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { warnTrustProxyIgnored } from './trust-proxy-warning.js'

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
  if (options.trustProxy !== undefined) warnTrustProxyIgnored()
  const engine = createEngine(options)

  const load = async (req: Request): Promise<RequestState> => {
    const url = req.originalUrl ?? req.url ?? ''
    const query = url.indexOf('?')
    return engine.load({
      cookie: req.headers.cookie,
      // Express's own answers, which honour the app's `trust proxy` setting (proxy-addr). No
      // forwarded headers are passed on: sesame's trustProxy has nothing to decide here.
      remoteAddress: req.ip,
      encrypted: req.protocol === 'https',
      userAgent: req.headers['user-agent'],
      method: req.method,
      path: query === -1 ? url : url.slice(0, query),
    })
  }

  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    // Mounted twice (app and router): the first mount's session and hold serve the request.
    if (req.session !== undefined) return next()
    load(req).then((state) => {
      req.session = state.session
      holdResponse(res, () => engine.commit(state), next)
      next()
    }, next)
  }

  return Object.assign(middleware, { engine, close: () => engine.close() })
}
