// Parse and check options once, at start-up. Every mistake is a SessionConfigError saying what to change.

import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import type { AuditOptions } from './audit.js'
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
  /** Believe X-Forwarded-For / X-Forwarded-Proto. Default false. */
  trustProxy?: boolean
  audit?: AuditOptions
  /** Largest session, as JSON, that save accepts. Default 64 KiB. */
  maxSessionBytes?: number
  /** Opt-in: answer 429 after this many rejected cookies from one client address within a minute. */
  rejectLimit?: number
}

export interface ResolvedSecrets {
  /** Password id (iron) used to seal new cookies. */
  sealId: string
  sealSecret: string
  /** Every password id -> secret that may unseal. */
  all: Record<string, string>
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
  trustProxy: boolean
  audit: AuditOptions | undefined
  coalesceRejectedMs: number
  auditCloseTimeoutMs: number
  maxSessionBytes: number
  rejectLimit: number
}

const KNOWN = new Set([
  'secret', 'store', 'idleTimeout', 'absoluteTimeout', 'saveUninitialized', 'cookie', 'trustProxy',
  'audit', 'maxSessionBytes', 'rejectLimit',
])
const KNOWN_COOKIE = new Set(['name', 'path', 'domain', 'secure', 'httpOnly', 'sameSite', 'partitioned'])
const KNOWN_AUDIT = new Set(['hooks', 'sinks', 'onError', 'coalesceRejected', 'closeTimeout'])
const MIN_SECRET = 32
const encoder = new TextEncoder()

function keyId(secret: string): string {
  // A fingerprint of the secret (HMAC under a fixed label), so ids stay stable when secrets are
  // added to or removed from a list, and an old cookie always finds its own secret.
  const digest = hmac(sha256, encoder.encode(secret), encoder.encode('sesame/key-id/v1'))
  let hex = ''
  for (let i = 0; i < 6; i++) hex += digest[i]!.toString(16).padStart(2, '0')
  return 'k' + hex
}

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
    const id = keyId(value)
    return { sealId: id, sealSecret: value, all: { [id]: value } }
  }
  if (Array.isArray(secret)) {
    if (secret.length === 0) throw new SessionConfigError('`secret` is an empty array; give at least one secret (the first one seals).')
    const all: Record<string, string> = {}
    secret.forEach((value, index) => {
      const checked = checkSecret(value, `\`secret[${index}]\``)
      all[keyId(checked)] = checked
    })
    const first = secret[0] as string
    return { sealId: keyId(first), sealSecret: first, all }
  }
  if (typeof secret === 'object') {
    const entries = Object.entries(secret as Record<string, unknown>)
    if (entries.length === 0) throw new SessionConfigError('`secret` is an empty object; give at least one { id: secret } pair (the highest id seals).')
    const all: Record<string, string> = {}
    for (const [id, value] of entries) {
      if (!/^\w+$/.test(id)) throw new SessionConfigError(`secret id "${id}" may contain only letters, digits and underscores.`)
      all[id] = checkSecret(value, `\`secret.${id}\``)
    }
    const ids = Object.keys(all).sort((a, b) => {
      const numeric = /^\d+$/.test(a) && /^\d+$/.test(b)
      return numeric ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0
    })
    const sealId = ids[ids.length - 1]!
    return { sealId, sealSecret: all[sealId]!, all }
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
    trustProxy: options.trustProxy ?? false,
    audit,
    coalesceRejectedMs: coalesce,
    auditCloseTimeoutMs: duration(audit?.closeTimeout, 5_000, 'audit.closeTimeout'),
    maxSessionBytes,
    rejectLimit,
  }
}
