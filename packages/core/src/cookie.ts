// Parse the Cookie header (only what we need: every value of one name) and serialize Set-Cookie.

import { clipCopy } from './clip.js'

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

/**
 * How much of a Cookie header is searched for our cookie. Browsers send ~4 KB per cookie; a large
 * cookie that another app on the domain sets must not hide ours (Node itself refuses headers over
 * 16 KiB by default, a fetch runtime may pass more), yet garbage must stay cheap: past this many
 * characters the header is not read at all, so the work per request is bounded whatever arrives.
 */
const MAX_COOKIE_SCAN = 64 * 1024
/** Longest single value we try to unseal. A sealed session cookie is ~250 characters. */
const MAX_COOKIE_VALUE = 4096
/** At most this many cookies of our name are tried (duplicates from path/domain variants). */
const MAX_CANDIDATES = 4

/**
 * Every value of cookie `name` in the first MAX_COOKIE_SCAN characters of the header, in order, at
 * most MAX_CANDIDATES; `undefined` when there is none. Each value is a fresh copy (clip.ts), so a value
 * kept (the verified-cookie cache) never holds the whole header alive; a value longer than
 * MAX_COOKIE_VALUE comes back as '' (malformed to the sealer) without being copied.
 */
export function readCookie(header: string | undefined | null, name: string): string[] | undefined {
  if (!header) return undefined
  const text = header.length > MAX_COOKIE_SCAN ? header.slice(0, MAX_COOKIE_SCAN) : header
  let found: string[] | undefined
  const prefix = name + '='
  let index = text.indexOf(prefix)
  while (index !== -1) {
    // Only a match at the start of a cookie pair counts: "xsid=" must not match "sid=".
    let before = index - 1
    while (before >= 0 && (text.charCodeAt(before) === 32 || text.charCodeAt(before) === 9)) before--
    if (before < 0 || text.charCodeAt(before) === 59 /* ; */) {
      const start = index + prefix.length
      let end = text.indexOf(';', start)
      if (end === -1) end = text.length
      ;(found ??= []).push(cookieValue(text, start, end))
      if (found.length >= MAX_CANDIDATES) break
      index = text.indexOf(prefix, end)
    } else {
      index = text.indexOf(prefix, index + 1)
    }
  }
  return found
}

/** The value between `start` and `end`: trimmed, unquoted, copied; '' when it is too long to be ours. */
function cookieValue(text: string, start: number, end: number): string {
  if (end - start > MAX_COOKIE_VALUE + 2) return ''
  let value = text.slice(start, end).trim()
  if (value.length >= 2 && value.charCodeAt(0) === 34 && value.charCodeAt(value.length - 1) === 34) value = value.slice(1, -1)
  return value.length > MAX_COOKIE_VALUE ? '' : clipCopy(value, MAX_COOKIE_VALUE)
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

export function serializeCookie(options: ResolvedCookieOptions, value: string, secure: boolean): string {
  return options.name + '=' + value + attributes(options, secure)
}

/** Set-Cookie that removes the cookie: same name, path and domain, expired. */
export function serializeClearCookie(options: ResolvedCookieOptions, secure: boolean): string {
  return options.name + '=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0' + attributes(options, secure)
}
