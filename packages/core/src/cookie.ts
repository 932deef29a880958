// Parse the Cookie header (only what we need: every value of one name) and serialize Set-Cookie.

export interface CookieOptions {
  name?: string
  path?: string
  domain?: string
  /** true, false, or 'auto': Secure only when the request came over HTTPS. */
  secure?: boolean | 'auto'
  httpOnly?: boolean
  sameSite?: 'lax' | 'strict' | 'none' | 'Lax' | 'Strict' | 'None' | false
  partitioned?: boolean
}

export interface ResolvedCookieOptions {
  name: string
  path: string
  domain: string | undefined
  secure: boolean | 'auto'
  httpOnly: boolean
  sameSite: 'Lax' | 'Strict' | 'None' | undefined
  partitioned: boolean
}

/** Longest Cookie header we look at; browsers send at most ~4 KB per cookie and ~8 KB or so in all. */
export const MAX_COOKIE_HEADER = 16 * 1024
/** Longest single value we try to unseal. A sealed session cookie is ~250 characters. */
export const MAX_COOKIE_VALUE = 4096
/** At most this many cookies of our name are tried (duplicates from path/domain variants). */
const MAX_CANDIDATES = 4

/**
 * Every value of cookie `name` in the header, in order, at most MAX_CANDIDATES.
 * Returns `undefined` when the header is absent, and `null` when the header is too large
 * to look at (treated as malformed by the engine).
 */
export function readCookie(header: string | undefined | null, name: string): string[] | undefined | null {
  if (!header) return undefined
  if (header.length > MAX_COOKIE_HEADER) return null
  let found: string[] | undefined
  const prefix = name + '='
  let index = header.indexOf(prefix)
  while (index !== -1) {
    // Only a match at the start of a cookie pair counts: "xsid=" must not match "sid=".
    let before = index - 1
    while (before >= 0 && (header.charCodeAt(before) === 32 || header.charCodeAt(before) === 9)) before--
    if (before < 0 || header.charCodeAt(before) === 59 /* ; */) {
      const start = index + prefix.length
      let end = header.indexOf(';', start)
      if (end === -1) end = header.length
      let value = header.slice(start, end).trim()
      if (value.length >= 2 && value.charCodeAt(0) === 34 && value.charCodeAt(value.length - 1) === 34) value = value.slice(1, -1)
      ;(found ??= []).push(value)
      if (found.length >= MAX_CANDIDATES) break
      index = header.indexOf(prefix, end)
    } else {
      index = header.indexOf(prefix, index + 1)
    }
  }
  return found
}

function attributes(options: ResolvedCookieOptions, secure: boolean): string {
  let text = '; Path=' + options.path
  if (options.domain) text += '; Domain=' + options.domain
  if (options.httpOnly) text += '; HttpOnly'
  if (secure) text += '; Secure'
  if (options.sameSite) text += '; SameSite=' + options.sameSite
  if (options.partitioned) text += '; Partitioned'
  return text
}

/**
 * `expiresAt` (ms since the epoch): a persistent cookie ("remember me") with Max-Age and Expires;
 * without it, a browser-session cookie.
 */
export function serializeCookie(options: ResolvedCookieOptions, value: string, secure: boolean, expiresAt?: number): string {
  if (expiresAt === undefined) return options.name + '=' + value + attributes(options, secure)
  const maxAge = Math.max(0, Math.floor((expiresAt - Date.now()) / 1000))
  return options.name + '=' + value + '; Max-Age=' + maxAge + '; Expires=' + new Date(expiresAt).toUTCString() + attributes(options, secure)
}

/** RFC 6265 path-match: is a request for `path` one the cookie (and so the session) applies to? */
export function inCookiePath(path: string, cookiePath: string): boolean {
  if (cookiePath === '/' || path === cookiePath) return true
  if (!path.startsWith(cookiePath)) return false
  return cookiePath.endsWith('/') || path.charCodeAt(cookiePath.length) === 47 /* / */
}

/** Set-Cookie that removes the cookie: same name, path and domain, expired. */
export function serializeClearCookie(options: ResolvedCookieOptions, secure: boolean): string {
  return options.name + '=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0' + attributes(options, secure)
}
