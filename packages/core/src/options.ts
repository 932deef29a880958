// Parse and check options once, at start-up. Every mistake is a SessionConfigError saying what to change.

import type { AuditOptions } from './audit.js'
import { compileTrustProxy, type ProxyTrust, type TrustProxy } from './client.js'
import type { CookieOptions, ResolvedCookieOptions } from './cookie.js'
import { parseDuration } from './duration.js'
import { SessionConfigError } from './errors.js'
import type { SessionStore } from './store.js'

/** One secret; several (first seals, all unseal); or `{ [id]: secret }` (highest id seals). */
export type SecretOption = string | readonly string[] | Readonly<Record<string, string>>

export interface SessionOptions {
  secret: SecretOption
  store?: SessionStore
  /** ms or a string like '15m'. Default '30m'. */
  idleTimeout?: number | string
  /** ms or a string like '12h'. Default '12h'. */
  absoluteTimeout?: number | string
  /** Persist and set a cookie for a session nobody wrote to. Default false. */
  saveUninitialized?: boolean
  cookie?: CookieOptions
  /**
   * Fetch handlers (Next): which proxies' X-Forwarded-For / X-Forwarded-Proto to believe, as
   * Express's `trust proxy` (a hop count, addresses/CIDRs, or true); see client.ts. Default false.
   * Express and Koa ignore it and use their own setting.
   */
  trustProxy?: TrustProxy
  audit?: AuditOptions
  /** Largest session, as JSON, that save accepts. Default 64 KiB. */
  maxSessionBytes?: number
  /** Opt-in: answer 429 after this many rejected cookies from one client address within a minute. */
  rejectLimit?: number
  /**
   * Remember every session (express-session's `cookie.maxAge`, koa-session's `maxAge`): a persistent
   * cookie and a lifetime of this long (capped by rememberMaxAge). Default: none (browser-session cookies).
   */
  remember?: number | string | false
  /** The longest lifetime a remembered session can get ("remember me"), from its creation or login. Default '30d'. */
  rememberMaxAge?: number | string
  /** The idle timeout of a remembered session. Default: `idleTimeout`. */
  rememberIdleTimeout?: number | string
}

export interface ResolvedSecrets {
  /**
   * Every secret that may unseal, the sealing one first (the first listed, or the highest id). `id` is
   * the iron password id the `{ id: secret }` form gave it; a secret given as a string or in an array
   * has none here and is named in its seals by a fingerprint of itself (secret-keys.ts).
   */
  all: Array<{ id: string | undefined; secret: string }>
  /** What the audit `sessionRef` key derives from: `audit.refSecret`, else the oldest listed secret. */
  refSecret: string
}

export interface ResolvedOptions {
  secrets: ResolvedSecrets
  store: SessionStore | undefined
  idleTimeout: number
  absoluteTimeout: number
  /** A data-less request refreshes the store's activity time at most this often. */
  touchInterval: number
  saveUninitialized: boolean
  cookie: ResolvedCookieOptions
  trustProxy: ProxyTrust
  audit: AuditOptions | undefined
  coalesceRejectedMs: number
  auditCloseTimeoutMs: number
  maxSessionBytes: number
  rejectLimit: number
  /** ms every new session is remembered for, or undefined. */
  remember: number | undefined
  rememberMaxAge: number
  rememberIdleTimeout: number
}

const KNOWN = new Set([
  'secret', 'store', 'idleTimeout', 'absoluteTimeout', 'saveUninitialized', 'cookie', 'trustProxy',
  'audit', 'maxSessionBytes', 'rejectLimit', 'remember', 'rememberMaxAge', 'rememberIdleTimeout',
])
const KNOWN_COOKIE = new Set(['name', 'path', 'domain', 'secure', 'httpOnly', 'sameSite', 'partitioned'])
const KNOWN_AUDIT = new Set(['hooks', 'sinks', 'onError', 'coalesceRejected', 'closeTimeout', 'refSecret'])
const MIN_SECRET = 32

function checkSecret(secret: unknown, where: string): string {
  if (typeof secret !== 'string') throw new SessionConfigError(`${where} must be a string of at least ${MIN_SECRET} characters.`)
  if (secret.length < MIN_SECRET) {
    throw new SessionConfigError(
      `${where} is ${secret.length} characters; it must be at least ${MIN_SECRET}. Generate one with: node -e "console.log(crypto.randomBytes(32).toString('base64url'))"`,
    )
  }
  return secret
}

export function resolveSecrets(secret: unknown): ResolvedSecrets {
  if (secret === undefined || secret === null) {
    throw new SessionConfigError('the `secret` option is required: a string of at least 32 random characters (keep it out of the code, e.g. in SESSION_SECRET).')
  }
  if (typeof secret === 'string') {
    const value = checkSecret(secret, '`secret`')
    return { all: [{ id: undefined, secret: value }], refSecret: value }
  }
  if (Array.isArray(secret)) {
    if (secret.length === 0) throw new SessionConfigError('`secret` is an empty array; give at least one secret (the first one seals).')
    const all = secret.map((value, index) => ({ id: undefined, secret: checkSecret(value, `\`secret[${index}]\``) }))
    // The oldest is the last listed: a rotation prepends the new secret.
    return { all, refSecret: all[all.length - 1]!.secret }
  }
  if (typeof secret === 'object') {
    const entries = Object.entries(secret as Record<string, unknown>)
    if (entries.length === 0) throw new SessionConfigError('`secret` is an empty object; give at least one { id: secret } pair (the highest id seals).')
    for (const [id, value] of entries) {
      if (!/^\w+$/.test(id)) throw new SessionConfigError(`secret id "${id}" may contain only letters, digits and underscores.`)
      checkSecret(value, `\`secret.${id}\``)
    }
    const ids = entries.map(([id]) => id).sort((a, b) => {
      const numeric = /^\d+$/.test(a) && /^\d+$/.test(b)
      return numeric ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0
    })
    const given = secret as Record<string, string>
    // Highest id first (it seals); the lowest id is the oldest.
    const all = ids.reverse().map((id) => ({ id, secret: given[id]! }))
    return { all, refSecret: all[all.length - 1]!.secret }
  }
  throw new SessionConfigError('`secret` must be a string, an array of strings, or an object { id: secret }.')
}

function duration(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback
  const ms = parseDuration(value)
  if (ms === undefined) {
    throw new SessionConfigError(`\`${name}\` is ${JSON.stringify(value)}; give milliseconds (a non-negative number) or a string like '15m', '12h', '90s'.`)
  }
  if (ms <= 0) throw new SessionConfigError(`\`${name}\` must be greater than zero.`)
  return ms
}

function checkKeys(given: object, known: Set<string>, where: string): void {
  for (const key of Object.keys(given)) {
    if (!known.has(key)) {
      throw new SessionConfigError(`unknown option ${where}${key}. Known options: ${[...known].join(', ')}.`)
    }
  }
}

function resolveCookie(cookie: CookieOptions | undefined): ResolvedCookieOptions {
  if (cookie !== undefined && (typeof cookie !== 'object' || cookie === null)) throw new SessionConfigError('`cookie` must be an object.')
  const given = cookie ?? {}
  checkKeys(given, KNOWN_COOKIE, 'cookie.')
  const name = given.name ?? 'sid'
  if (typeof name !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    throw new SessionConfigError('`cookie.name` must be a non-empty cookie token (letters, digits and !#$%&\'*+-.^_`|~).')
  }
  const path = given.path ?? '/'
  if (typeof path !== 'string' || !path.startsWith('/') || /[;\s]/.test(path)) throw new SessionConfigError('`cookie.path` must start with "/" and contain no ";" or spaces.')
  const domain = given.domain
  if (domain !== undefined && (typeof domain !== 'string' || /[;\s]/.test(domain) || domain === '')) {
    throw new SessionConfigError('`cookie.domain` must be a host name without ";" or spaces.')
  }
  const secure = given.secure ?? 'auto'
  if (secure !== true && secure !== false && secure !== 'auto') throw new SessionConfigError("`cookie.secure` must be true, false or 'auto'.")
  let sameSite: ResolvedCookieOptions['sameSite']
  const rawSameSite = given.sameSite ?? 'lax'
  if (rawSameSite === false) sameSite = undefined
  else {
    const lower = String(rawSameSite).toLowerCase()
    if (lower === 'lax') sameSite = 'Lax'
    else if (lower === 'strict') sameSite = 'Strict'
    else if (lower === 'none') sameSite = 'None'
    else throw new SessionConfigError("`cookie.sameSite` must be 'lax', 'strict', 'none' or false.")
  }
  if (sameSite === 'None' && secure === false) {
    throw new SessionConfigError("`cookie.sameSite: 'none'` requires a Secure cookie (browsers drop SameSite=None without Secure); remove `cookie.secure: false` or choose sameSite 'lax'.")
  }
  const resolved: ResolvedCookieOptions = {
    name,
    path,
    domain,
    // Browsers drop SameSite=None without Secure, so with 'none' even 'auto' always sends Secure
    // (a plain-HTTP request then gets a cookie it can only use over HTTPS, or on localhost).
    secure: sameSite === 'None' ? true : secure,
    httpOnly: given.httpOnly ?? true,
    sameSite,
    partitioned: given.partitioned ?? false,
  }
  if (name.startsWith('__Host-') && (secure === false || path !== '/' || domain !== undefined)) {
    throw new SessionConfigError('a `__Host-` cookie needs secure true or \'auto\', path "/" and no domain.')
  }
  if (name.startsWith('__Secure-') && secure === false) throw new SessionConfigError('a `__Secure-` cookie needs secure true or \'auto\'.')
  return resolved
}

export function resolveOptions(options: SessionOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new SessionConfigError('options are required: session({ secret: process.env.SESSION_SECRET }).')
  }
  checkKeys(options, KNOWN, '')
  const secrets = resolveSecrets(options.secret)
  const idleTimeout = duration(options.idleTimeout, 30 * 60_000, 'idleTimeout')
  const absoluteTimeout = duration(options.absoluteTimeout, 12 * 3_600_000, 'absoluteTimeout')
  if (idleTimeout > absoluteTimeout) {
    throw new SessionConfigError(`\`idleTimeout\` (${idleTimeout} ms) is longer than \`absoluteTimeout\` (${absoluteTimeout} ms); the idle timeout could never apply. Make idleTimeout shorter or absoluteTimeout longer.`)
  }
  const store = options.store
  if (store !== undefined) {
    for (const method of ['get', 'create', 'update', 'touch', 'destroy', 'listByUser', 'destroyByUser'] as const) {
      if (typeof (store as unknown as Record<string, unknown>)?.[method] !== 'function') {
        throw new SessionConfigError(`\`store\` has no ${method}() method; pass memoryStore(), redisStore() or an object implementing SessionStore.`)
      }
    }
  }
  const maxSessionBytes = options.maxSessionBytes ?? 64 * 1024
  if (!Number.isInteger(maxSessionBytes) || maxSessionBytes <= 0) throw new SessionConfigError('`maxSessionBytes` must be a positive whole number of bytes.')
  const rejectLimit = options.rejectLimit ?? 0
  if (!Number.isInteger(rejectLimit) || rejectLimit < 0) throw new SessionConfigError('`rejectLimit` must be a whole number (0 turns it off).')
  const audit = options.audit
  if (audit !== undefined) {
    if (typeof audit !== 'object' || audit === null) throw new SessionConfigError('`audit` must be an object { hooks?, sinks? }.')
    checkKeys(audit, KNOWN_AUDIT, 'audit.')
    if (audit.hooks !== undefined && (!Array.isArray(audit.hooks) || audit.hooks.some((hook) => typeof hook !== 'function'))) {
      throw new SessionConfigError('`audit.hooks` must be an array of functions.')
    }
    if (audit.sinks !== undefined && (!Array.isArray(audit.sinks) || audit.sinks.some((sink) => typeof sink?.write !== 'function'))) {
      throw new SessionConfigError('`audit.sinks` must be an array of LogSink objects { write, flush, close }.')
    }
    if (audit.refSecret !== undefined) secrets.refSecret = checkSecret(audit.refSecret, '`audit.refSecret`')
  }
  const rememberMaxAge = duration(options.rememberMaxAge, 30 * 86_400_000, 'rememberMaxAge')
  const rememberIdleTimeout = duration(options.rememberIdleTimeout, idleTimeout, 'rememberIdleTimeout')
  if (rememberIdleTimeout > rememberMaxAge) {
    throw new SessionConfigError(`\`rememberIdleTimeout\` (${rememberIdleTimeout} ms) is longer than \`rememberMaxAge\` (${rememberMaxAge} ms); make it shorter.`)
  }
  const remember = options.remember === undefined || options.remember === false ? undefined : duration(options.remember, 0, 'remember')
  if (remember !== undefined && remember > rememberMaxAge) {
    throw new SessionConfigError(`\`remember\` (${remember} ms) is longer than \`rememberMaxAge\` (${rememberMaxAge} ms); raise rememberMaxAge if sessions should really live that long.`)
  }
  const coalesce = audit?.coalesceRejected === undefined ? 60_000 : audit.coalesceRejected === 0 ? 0 : duration(audit.coalesceRejected, 60_000, 'audit.coalesceRejected')
  return {
    secrets,
    store,
    idleTimeout,
    absoluteTimeout,
    touchInterval: Math.min(60_000, Math.floor(idleTimeout / 10)),
    saveUninitialized: options.saveUninitialized ?? false,
    cookie: resolveCookie(options.cookie),
    trustProxy: compileTrustProxy(options.trustProxy),
    audit,
    coalesceRejectedMs: coalesce,
    auditCloseTimeoutMs: duration(audit?.closeTimeout, 5_000, 'audit.closeTimeout'),
    maxSessionBytes,
    rejectLimit,
    remember,
    rememberMaxAge,
    rememberIdleTimeout,
  }
}
