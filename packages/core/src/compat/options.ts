// express-session's and koa-session's options, translated into sesame's at start-up.
//
// Each one either maps onto a sesame option (silently), or is accepted with ONE start-up warning that
// says what sesame does instead, or, only when it would weaken security, is refused with a
// SessionConfigError saying why and what to use. sesame's own options pass through unchanged, so one
// options object may mix both. The adapters' READMEs have the full table.

import { parseDuration } from '../duration.js'
import { SessionConfigError } from '../errors.js'
import type { SessionOptions } from '../options.js'
import type { SessionStore } from '../store.js'
import { expressSessionStore, type ExpressSessionStoreLike } from '../stores/express-session-store.js'
import { koaSessionStore, type KoaSessionStoreLike } from '../stores/koa-session-store.js'

export type Flavour = 'express' | 'koa'

/** What the Koa adapter does per request beyond the engine's options (koa-session's hooks and autoCommit). */
export interface KoaCompat {
  /** false: commit only on `ctx.session.manuallyCommit()` (or `save()`). */
  autoCommit: boolean
  /** koa-session's `valid(ctx, data)`: a falsy answer gives the request a fresh session. */
  valid: ((ctx: unknown, data: Record<string, unknown>) => unknown) | undefined
  /** koa-session's `beforeSave(ctx, session)`: called before a session with data is written. */
  beforeSave: ((ctx: unknown, session: unknown) => void) | undefined
}

export interface Translated {
  options: SessionOptions
  koa: KoaCompat
  /** The start-up warnings, one per accepted-but-not-copied option (already printed unless `warn` was given). */
  warnings: string[]
}

const DEFAULT_REMEMBER_MAX_AGE = 30 * 86_400_000
const SESAME_COOKIE = new Set(['name', 'path', 'domain', 'secure', 'httpOnly', 'sameSite', 'partitioned'])
const KOA_COOKIE = ['path', 'domain', 'secure', 'httpOnly', 'sameSite', 'partitioned'] as const

function isSesameStore(store: unknown): store is SessionStore {
  return typeof (store as SessionStore | null)?.create === 'function' && typeof (store as SessionStore).update === 'function'
}

/**
 * Translate an options object that may use express-session's (flavour 'express') or koa-session's
 * (flavour 'koa') names. `koaSignature`: koa-session's `session(opts, app)` form was used, so its
 * defaults are what the app expects and are reported where sesame's differ.
 */
export function translateOptions(
  given: unknown,
  flavour: Flavour,
  { warn = (message: string) => console.warn(message), koaSignature = false }: { warn?: (message: string) => void; koaSignature?: boolean } = {},
): Translated {
  if (typeof given !== 'object' || given === null) {
    throw new SessionConfigError('options are required: session({ secret: process.env.SESSION_SECRET }).')
  }
  const input = { ...(given as Record<string, unknown>) }
  const out: Record<string, unknown> = {}
  const cookie: Record<string, unknown> = {}
  const warnings: string[] = []
  const library = flavour === 'express' ? 'express-session' : 'koa-session'
  const accept = (option: string, instead: string) => {
    const message = `sesame: ${library} option \`${option}\` is accepted but not copied: ${instead}`
    warnings.push(message)
    warn(message)
  }
  const refuse = (option: string, why: string) => {
    throw new SessionConfigError(`${library} option \`${option}\` is refused: ${why}`)
  }
  const take = (name: string): unknown => {
    const value = input[name]
    delete input[name]
    return value
  }
  const has = (name: string) => Object.hasOwn(input, name)
  let remember: number | undefined

  const rememberMaxAge = has('rememberMaxAge') ? parseDuration(input.rememberMaxAge) ?? DEFAULT_REMEMBER_MAX_AGE : DEFAULT_REMEMBER_MAX_AGE
  const rememberFor = (option: string, ms: number) => {
    if (!(ms > 0)) return
    if (ms > rememberMaxAge) {
      accept(option, `sessions are remembered for at most rememberMaxAge (${rememberMaxAge} ms, from creation or login); raise \`rememberMaxAge\` to allow ${ms} ms.`)
      remember = rememberMaxAge
    } else remember = ms
  }

  // ---- shared by both
  if (has('store')) {
    const store = take('store')
    if (store === undefined || isSesameStore(store)) out.store = store
    else if (flavour === 'express') out.store = expressSessionStore(store as ExpressSessionStoreLike)
    else {
      // koa-session's `prefix` goes before the store keys, as koa-session puts it before its ids.
      const prefix = take('prefix')
      if (prefix !== undefined && typeof prefix !== 'string') throw new SessionConfigError('`prefix` must be a string.')
      out.store = koaSessionStore(store as KoaSessionStoreLike, { prefix })
    }
  }
  if (has('genid')) {
    take('genid')
    accept('genid', 'sesame draws every session id itself (144 random bits from crypto.getRandomValues); the id never reaches the client, which gets only a sealed cookie.')
  }
  if (has('rolling')) {
    if (take('rolling') === true) {
      accept('rolling: true', "the idle timeout already rolls on the server with every request (idleTimeout); a remembered cookie's Max-Age runs to the session's deadline, so it is not re-sent on every response.")
    }
  }

  if (flavour === 'express') {
    if (has('name')) cookie.name = take('name')
    if (has('cookie')) {
      const given = take('cookie')
      if (given !== undefined && (typeof given !== 'object' || given === null)) throw new SessionConfigError('`cookie` must be an object.')
      for (const [key, value] of Object.entries((given ?? {}) as Record<string, unknown>)) {
        if (key === 'maxAge') {
          if (value === null || value === undefined) continue
          if (typeof value !== 'number' || !Number.isFinite(value)) throw new SessionConfigError('`cookie.maxAge` must be a number of milliseconds (or null).')
          rememberFor('cookie.maxAge', value)
        } else if (key === 'expires') {
          if (value !== null && value !== undefined) accept('cookie.expires', 'one fixed expiry date for every cookie is not used; give `cookie.maxAge` (ms) for persistent cookies.')
        } else if (key === 'priority') {
          if (value !== undefined) accept('cookie.priority', 'the cookie has no Priority attribute (a non-standard hint only Chrome reads).')
        } else if (key === 'sameSite' && value === true) {
          cookie.sameSite = 'strict'
        } else if (key === 'secure' && value === undefined) {
          // express-session's default (no Secure); sesame's default 'auto' is at least as strict.
        } else {
          cookie[key] = value
        }
      }
    }
    if (has('resave')) {
      if (take('resave') === true) accept('resave: true', 'only keys whose value changed are written (and an unchanged session is touched at most once a minute), so concurrent requests never overwrite each other.')
    }
    if (has('unset')) {
      const unset = take('unset')
      if (unset === 'keep') accept("unset: 'keep'", '`req.session = null` (or `delete req.session`) destroys the session, as `unset: \'destroy\'` does.')
      else if (unset !== 'destroy' && unset !== undefined) throw new SessionConfigError("`unset` must be 'destroy' or 'keep'.")
    }
    if (has('proxy')) {
      const proxy = take('proxy')
      if (proxy === true || proxy === false) {
        accept(`proxy: ${proxy}`, "the client's protocol (for Secure cookies) and address come from Express's req.protocol and req.ip, which follow the app's own `trust proxy` setting (express-session's behaviour without `proxy`); set app.set('trust proxy', 1) behind one proxy.")
      } else if (proxy !== undefined) throw new SessionConfigError('`proxy` must be true or false.')
    }
  } else {
    if (has('key')) cookie.name = take('key')
    if (has('maxAge')) {
      const maxAge = take('maxAge')
      if (typeof maxAge === 'number' && Number.isFinite(maxAge)) rememberFor('maxAge', maxAge)
      else if (maxAge !== 'session' && maxAge !== undefined) throw new SessionConfigError("`maxAge` must be a number of milliseconds or 'session'.")
    } else if (koaSignature) {
      accept('maxAge (default one day)', "koa-session's default persistent one-day cookie is not copied: without `maxAge` the cookie lasts the browser session and the session ends after idleTimeout / absoluteTimeout. Give `maxAge` (ms) to keep a persistent cookie.")
    }
    for (const name of KOA_COOKIE) {
      if (!has(name)) continue
      const value = take(name)
      if (name === 'sameSite' && (value === null || value === undefined)) continue // "not set": sesame keeps its default, Lax
      if (name === 'sameSite' && value === true) cookie.sameSite = 'strict'
      else if (value !== undefined) cookie[name] = value
    }
    if (has('renew')) {
      if (take('renew') === true) accept('renew: true', 'the session lives while it is used, up to idleTimeout / absoluteTimeout (or the remembered lifetime), all enforced on the server; nothing is renewed from the cookie.')
    }
    if (has('overwrite')) {
      if (take('overwrite') === false) accept('overwrite: false', 'the session cookie always replaces an earlier Set-Cookie of the same name.')
    }
    if (has('signed')) {
      if (take('signed') === false) accept('signed: false', 'the cookie is always sealed (iron: encrypted and authenticated with `secret`); Koa\'s app.keys are not used.')
    }
    for (const name of ['encode', 'decode'] as const) {
      if (has(name) && take(name) !== undefined) {
        refuse(name, 'it exists to put session data into the cookie, where the client can read, replay or roll it back. sesame keeps data on the server and the cookie holds only a sealed id: remove it (pass `store` to choose where the data lives).')
      }
    }
    if (has('externalKey') && take('externalKey') !== undefined) {
      refuse('externalKey', 'a key read from elsewhere than the sealed cookie (a header, a query parameter) would name a session without the seal\'s authentication. Remove it: the session is found from the sealed cookie.')
    }
    if (has('ContextStore') && take('ContextStore') !== undefined) {
      refuse('ContextStore', 'a store made per request cannot keep the store contract (atomic, change-only writes across requests). Pass one `store` (koaSessionStore(yourStore) or a sesame store).')
    }
    if (has('prefix')) {
      take('prefix')
      accept('prefix', 'without a koa-session `store` there are no store keys to prefix (sesame\'s own stores take their own `prefix`, e.g. redisStore({ prefix })).')
    }
  }

  // What is left is sesame's own (or a typo, which resolveOptions names).
  const koa: KoaCompat = { autoCommit: true, valid: undefined, beforeSave: undefined }
  if (flavour === 'koa') {
    if (has('autoCommit')) {
      const autoCommit = take('autoCommit')
      if (autoCommit !== true && autoCommit !== false && autoCommit !== undefined) throw new SessionConfigError('`autoCommit` must be true or false.')
      koa.autoCommit = autoCommit !== false
    }
    for (const name of ['valid', 'beforeSave'] as const) {
      if (!has(name)) continue
      const hook = take(name)
      if (hook !== undefined && typeof hook !== 'function') throw new SessionConfigError(`\`${name}\` must be a function (ctx, session).`)
      koa[name] = hook as never
    }
  }
  if (has('cookie')) {
    // sesame's own cookie options (the koa flavour, or an express app already using sesame's names).
    const own = take('cookie')
    if (own !== undefined && (typeof own !== 'object' || own === null)) throw new SessionConfigError('`cookie` must be an object.')
    for (const [key, value] of Object.entries((own ?? {}) as Record<string, unknown>)) {
      if (key === 'maxAge' && flavour === 'koa') throw new SessionConfigError("`cookie.maxAge` is express-session's; with Koa give `maxAge` (ms or 'session').")
      cookie[key] = value
    }
  }
  for (const key of Object.keys(cookie)) {
    if (!SESAME_COOKIE.has(key)) throw new SessionConfigError(`unknown option cookie.${key}. Known options: ${[...SESAME_COOKIE].join(', ')}, maxAge, expires, priority.`)
  }
  if (Object.keys(cookie).length > 0) out.cookie = cookie
  if (remember !== undefined && !has('remember')) out.remember = remember
  Object.assign(out, input)
  return { options: out as unknown as SessionOptions, koa, warnings }
}
