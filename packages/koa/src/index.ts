// @sesame/koa: translation between Koa (2 and 3) and the sesame engine, nothing more.
// Reads the cookie header, client address and protocol; commits after downstream middleware so a
// store error travels up the middleware chain like any other error; holds ctx.res for the paths
// that bypass Koa's own response (ctx.respond = false, direct ctx.res writes, handled errors).

import type { TLSSocket } from 'node:tls'
import { createEngine, type Engine, type RequestState, type Session, type SessionOptions } from '@sesame/core'
import { appendSetCookie, holdResponse } from '@sesame/core/node-http'
import type { Context, Middleware, Next } from 'koa'

declare module 'koa' {
  interface DefaultContext {
    /** The sesame session: plain data properties plus id, meta, login(), logout(), ... */
    get session(): Session
    /** `ctx.session = null` destroys the session (like `await ctx.session.destroy()`). */
    set session(value: Session | null)
  }
}

export interface SessionMiddleware extends Middleware {
  /** List and revoke users' sessions, flush audit sinks: see @sesame/core's Engine. */
  readonly engine: Engine
  /** Flush audit sinks and stop timers (call on shutdown). */
  close(): Promise<void>
}

export type { Session, SessionOptions } from '@sesame/core'

/** The request's session holder, under a symbol on ctx (never collides with the app's own ctx fields). */
const HELD = Symbol('sesame.koa')

interface Held {
  state: RequestState
  /** `ctx.session = null` starts a destroy; the commit waits for it. */
  destroying: Promise<void> | undefined
}

/**
 * `ctx.session` is an accessor on the app's context prototype, defined once per app: defining it on
 * every ctx would cost two property definitions per request and push each ctx into dictionary mode.
 */
function defineSessionAccessor(proto: object): void {
  if (Object.hasOwn(proto, 'session')) return
  Object.defineProperty(proto, 'session', {
    configurable: true,
    enumerable: true,
    get(this: Record<symbol, Held | undefined>) {
      return this[HELD]?.state.session
    },
    set(this: Record<symbol, Held | undefined>, value: unknown) {
      const held = this[HELD]
      if (!held) throw new TypeError('ctx.session is set by the sesame middleware; mount it before this code runs.')
      if (value !== null && value !== undefined) {
        throw new TypeError('ctx.session can only be assigned null (to destroy the session); set properties on it to store data.')
      }
      const destroyed = held.state.session.destroy()
      destroyed.catch(() => {}) // observed by the commit
      held.destroying = held.destroying ? held.destroying.then(() => destroyed) : destroyed
    },
  })
}

export function session(options: SessionOptions): SessionMiddleware {
  const engine = createEngine(options)

  const middleware = async (ctx: Context, next: Next): Promise<void> => {
    const holder = ctx as unknown as Record<symbol, Held | undefined>
    if (holder[HELD]) return next()
    const req = ctx.req
    const query = ctx.originalUrl.indexOf('?')
    const state: RequestState = await engine.load({
      cookie: req.headers.cookie,
      encrypted: (req.socket as TLSSocket).encrypted === true,
      remoteAddress: req.socket.remoteAddress,
      forwardedFor: req.headers['x-forwarded-for'] as string | undefined,
      forwardedProto: req.headers['x-forwarded-proto'] as string | undefined,
      userAgent: req.headers['user-agent'],
      method: req.method,
      path: query === -1 ? ctx.originalUrl : ctx.originalUrl.slice(0, query),
    })
    defineSessionAccessor(Object.getPrototypeOf(ctx) as object)
    const held: Held = { state, destroying: undefined }
    holder[HELD] = held

    let committing: Promise<string | undefined> | undefined
    const commit = async (): Promise<string | undefined> => {
      if (held.destroying) await held.destroying
      return engine.commit(state)
    }
    /** Settles once the inline commit (after downstream) has put its cookie on the response. */
    let inlineDone: Promise<undefined> | undefined
    let unhandledError = false

    // Writes that do not wait for this middleware to return: ctx.respond = false, ctx.res written
    // directly, or the response to an error an upstream middleware handled. Each waits for the commit.
    holdResponse(
      ctx.res,
      () => {
        if (inlineDone) return inlineDone
        if (unhandledError) return Promise.resolve(undefined) // Koa's own error response: nothing is written
        return (committing ??= commit())
      },
      (error) => ctx.onerror(error as Error),
    )

    try {
      await next()
    } catch (error: unknown) {
      // Whether this error is handled is decided upstream: commit when the response is written,
      // unless Koa's default error handler is the one writing it.
      const onerror = ctx.onerror
      ctx.onerror = function (this: Context, err: Error) {
        // Koa also calls onerror(null) when the response finishes normally.
        if (err != null) unhandledError = true
        return onerror.call(this, err)
      }
      throw error
    }

    if (committing) {
      // A held write already started the commit; the hold adds the cookie. Its errors go to ctx.onerror.
      await committing.catch(() => {})
      return
    }
    let finish!: () => void
    inlineDone = new Promise<undefined>((resolve) => (finish = () => resolve(undefined)))
    try {
      const cookie = await commit()
      if (cookie !== undefined && !ctx.res.headersSent) appendSetCookie(ctx.res, cookie)
    } finally {
      finish()
    }
  }

  return Object.assign(middleware, { engine, close: () => engine.close() })
}
