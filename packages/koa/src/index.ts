// @sesame/koa: translation between Koa (2 and 3) and the sesame engine, nothing more.
// Reads the cookie header, and the client address and protocol as Koa decides them (`app.proxy`,
// `maxIpsCount`); commits after downstream middleware so a
// store error travels up the middleware chain like any other error; holds ctx.res for the paths
// that bypass Koa's own response (ctx.respond = false, direct ctx.res writes, handled errors).

import { createEngine, type Engine, type RequestState, type Session, type SessionOptions } from '@sesame/core'
import { appendSetCookie, holdResponse } from '@sesame/core/node-http'
import type { Context, Middleware, Next } from 'koa'
import { warnTrustProxyIgnored } from './trust-proxy-warning.js'

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
 * `ctx.session` is an accessor on the app's own context prototype (`app.context`, which Koa documents
 * for adding to ctx, as koa-session does), defined once per app. Koa's shared prototypes and other
 * apps' contexts are left alone.
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
  if (options.trustProxy !== undefined) warnTrustProxyIgnored()
  const engine = createEngine(options)

  const middleware = async (ctx: Context, next: Next): Promise<void> => {
    const holder = ctx as unknown as Record<symbol, Held | undefined>
    if (holder[HELD]) return next()
    const headers = ctx.req.headers
    const query = ctx.originalUrl.indexOf('?')
    const state: RequestState = await engine.load({
      cookie: headers.cookie,
      // Koa's own answers, which honour app.proxy, app.proxyIpHeader and app.maxIpsCount. No
      // forwarded headers are passed on: sesame's trustProxy has nothing to decide here.
      remoteAddress: ctx.ip || undefined,
      encrypted: ctx.protocol === 'https',
      userAgent: headers['user-agent'],
      method: ctx.method,
      path: query === -1 ? ctx.originalUrl : ctx.originalUrl.slice(0, query),
    })
    defineSessionAccessor(ctx.app.context)
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
