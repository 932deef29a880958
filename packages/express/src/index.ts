// @sesame/express: translation between Express and the sesame engine, nothing more.
// Reads the cookie header, client address and protocol; holds the response until the engine has
// committed; hands store errors to next(err) while headers are still unsent.

import type { TLSSocket } from 'node:tls'
import { createEngine, type Engine, type Session, type SessionOptions } from '@sesame/core'
import { holdResponse } from '@sesame/core/node-http'
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

  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    if (req.session !== undefined) return next()
    const headers = req.headers
    const url = req.originalUrl ?? req.url ?? ''
    const query = url.indexOf('?')
    engine
      .load({
        cookie: headers.cookie,
        encrypted: (req.socket as TLSSocket).encrypted === true,
        remoteAddress: req.socket.remoteAddress,
        forwardedFor: headers['x-forwarded-for'] as string | undefined,
        forwardedProto: headers['x-forwarded-proto'] as string | undefined,
        userAgent: headers['user-agent'],
        method: req.method,
        path: query === -1 ? url : url.slice(0, query),
      })
      .then((state) => {
        req.session = state.session
        holdResponse(res, () => engine.commit(state), next)
        next()
      }, next)
  }

  return Object.assign(middleware, { engine, close: () => engine.close() })
}
