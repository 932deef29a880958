// @sesame/koa: translation between Koa (2 and 3) and the sesame engine, nothing more.
// Reads the cookie header, and the client address and protocol as Koa decides them (`app.proxy`,
// `maxIpsCount`); commits after downstream middleware so a
// store error travels up the middleware chain like any other error; holds ctx.res for the paths
// that bypass Koa's own response (ctx.respond = false, direct ctx.res writes, handled errors).

import { createEngine, replaceData, translateOptions, type CookieOptions, type Engine, type KoaCompat, type RequestInfo, type RequestState, type Session, type SessionOptions } from '@sesame/core'
import { appendSetCookie, holdResponse, warnTrustProxyIgnored } from '@sesame/core/node-http'
import type { Context, Middleware, Next } from 'koa'

declare module 'koa' {
  interface DefaultContext {
    /** The sesame session: plain data properties plus id, meta, login(), logout(), ... */
    get session(): Session
    /** `ctx.session = null` destroys the session (like `await ctx.session.destroy()`); `ctx.session = { ... }` replaces its data. */
    set session(value: Session | Record<string, unknown> | null)
  }
}

export interface SessionMiddleware extends Middleware {
  /** List and revoke users' sessions, flush audit sinks: see @sesame/core's Engine. */
  readonly engine: Engine
  /** Flush audit sinks and stop timers (call on shutdown). */
  close(): Promise<void>
}

export type { Session, SessionOptions } from '@sesame/core'
export { koaSessionStore } from '@sesame/core'

/**
 * sesame's options, plus koa-session's names (`key`, `maxAge`, `renew`, `rolling`, `autoCommit`,
 * `valid`, `beforeSave`, `signed`, `overwrite`, `genid`, `prefix`, and the cookie attributes at the
 * top level): each is mapped, or accepted with one start-up warning, or refused when it would weaken
 * security (`encode`/`decode`, `externalKey`; see the README's table). `store` may be a koa-session
 * store ({ get, set, destroy }, e.g. koa-redis): it is wrapped by koaSessionStore().
 */
export type KoaSessionOptions = Omit<SessionOptions, 'store' | 'cookie'> & {
  store?: SessionOptions['store'] | { get: unknown; set: unknown; destroy: unknown }
  cookie?: CookieOptions
  key?: string
  maxAge?: number | 'session'
  renew?: boolean
  rolling?: boolean
  autoCommit?: boolean
  overwrite?: boolean
  signed?: boolean
  httpOnly?: boolean
  secure?: boolean
  sameSite?: CookieOptions['sameSite'] | true | null
  path?: string
  domain?: string
  partitioned?: boolean
  genid?: (ctx: Context) => string
  prefix?: string
  valid?: (ctx: Context, session: Record<string, unknown>) => unknown
  beforeSave?: (ctx: Context, session: Session) => void
}

/** The part of a Koa application the koa-session call form `session(options, app)` passes. */
interface KoaApp {
  use: unknown
  context: object
}

/** The request's session holder, under a symbol on ctx (never collides with the app's own ctx fields). */
const HELD = Symbol('sesame.koa')

interface Held {
  state: RequestState
  /** `ctx.session = null` starts a destroy; the commit waits for it. */
  destroying: Promise<void> | undefined
  /** Read before the middleware ran (koa-session's app.context getter): a placeholder until it loads. */
  early?: true
}

/** What the accessor needs from the middleware of this app (set by session(options, app)). */
interface Early {
  engine: Engine
  info: (ctx: Context) => RequestInfo
}
const earlyLoads = new WeakMap<object, Early>()

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
    get(this: Context & Record<symbol, Held | undefined>) {
      const held = this[HELD]
      if (held) return held.state.session
      // Read before the middleware: with session(options, app), a fresh session to write to; the
      // middleware then loads the stored one and keeps what was written here on top of it.
      const early = earlyLoads.get(proto)
      if (!early || !early.engine.appliesTo(this.path)) return undefined
      const state = early.engine.detached(early.info(this))
      this[HELD] = { state, destroying: undefined, early: true }
      return state.session
    },
    set(this: Context & Record<symbol, Held | undefined>, value: unknown) {
      const held = this[HELD]
      if (!held) throw new TypeError('ctx.session is set by the sesame middleware; mount it before this code runs.')
      if (value === null || value === undefined) {
        const destroyed = held.state.session.destroy()
        destroyed.catch(() => {}) // observed by the commit
        held.destroying = held.destroying ? held.destroying.then(() => destroyed) : destroyed
        return
      }
      // koa-session's `ctx.session = { ... }`: the data becomes exactly that object's (same id).
      replaceData(held.state, value, 'ctx.session')
    },
  })
}

/** What the engine needs to know about a Koa request. */
function requestInfo(ctx: Context): RequestInfo {
  const headers = ctx.req.headers
  const query = ctx.originalUrl.indexOf('?')
  return {
    cookie: headers.cookie,
    // Koa's own answers, which honour app.proxy, app.proxyIpHeader and app.maxIpsCount. No
    // forwarded headers are passed on: sesame's trustProxy has nothing to decide here.
    remoteAddress: ctx.ip || undefined,
    encrypted: ctx.protocol === 'https',
    userAgent: headers['user-agent'],
    method: ctx.method,
    path: query === -1 ? ctx.originalUrl : ctx.originalUrl.slice(0, query),
    flavour: 'koa',
  }
}

function isApp(value: unknown): value is KoaApp {
  return typeof (value as KoaApp | null)?.use === 'function' && typeof (value as KoaApp).context === 'object'
}

/**
 * `session(options)`, or koa-session's forms `session(options, app)` / `session(app, options)`: with
 * the app, `ctx.session` exists on app.context from the start and can be read before the middleware.
 */
export function session(options: KoaSessionOptions): SessionMiddleware
export function session(options: KoaSessionOptions, app: KoaApp): SessionMiddleware
export function session(app: KoaApp, options: KoaSessionOptions): SessionMiddleware
export function session(first: KoaSessionOptions | KoaApp, second?: KoaApp | KoaSessionOptions): SessionMiddleware {
  const [options, app] = isApp(first) ? [second as KoaSessionOptions, first] : [first, second as KoaApp | undefined]
  if (options?.trustProxy !== undefined) {
    warnTrustProxyIgnored(
      '@sesame/koa',
      "the client address and protocol come from Koa's ctx.ip and ctx.protocol. Behind a proxy, set Koa's own settings instead: app.proxy = true and app.maxIpsCount = 1 for one proxy in front that appends to X-Forwarded-For.",
    )
  }
  const translated = translateOptions(options, 'koa', { koaSignature: app !== undefined })
  const engine = createEngine(translated.options)
  const compat: KoaCompat = translated.koa
  if (app !== undefined) {
    defineSessionAccessor(app.context)
    earlyLoads.set(app.context, { engine, info: requestInfo })
  }

  const middleware = async (ctx: Context, next: Next): Promise<void> => {
    const holder = ctx as unknown as Record<symbol, Held | undefined>
    const earlier = holder[HELD]
    if (earlier && !earlier.early) return next()
    // Outside cookie.path there is no session and no cookie (as express-session).
    if (!engine.appliesTo(ctx.path)) return next()
    const state: RequestState = await engine.load(requestInfo(ctx))
    if (compat.valid && state.persisted && !compat.valid(ctx, { ...state.session })) {
      // koa-session's `valid` said no: this request gets a fresh session (the stored one is left alone).
      engine.discard(state)
    }
    if (earlier) {
      // Written before the middleware ran (the app.context getter): kept on top of the stored data.
      if (earlier.destroying) await earlier.destroying
      Object.assign(state.session, { ...earlier.state.session })
    }
    defineSessionAccessor(ctx.app.context)
    const held: Held = { state, destroying: undefined }
    holder[HELD] = held

    let committing: Promise<string | undefined> | undefined
    const commit = async (): Promise<string | undefined> => {
      if (held.destroying) await held.destroying
      if (compat.beforeSave && (state.persisted || Object.keys(state.session).length > 0)) compat.beforeSave(ctx, state.session)
      return engine.commit(state)
    }
    if (!compat.autoCommit) {
      // koa-session's autoCommit: false: nothing is written unless the app calls manuallyCommit() / save().
      state.manualCommit = async () => {
        const cookie = await commit()
        if (cookie !== undefined && !ctx.res.headersSent) appendSetCookie(ctx.res, cookie)
      }
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
        if (unhandledError || !compat.autoCommit) return Promise.resolve(undefined) // Koa's own error response, or manual commits only
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
    if (!compat.autoCommit) return
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
