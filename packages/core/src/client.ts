// Who is asking, and over what: the client address and protocol.
//
// Two kinds of adapter call the engine. Express and Koa decide the address and protocol themselves,
// from their own trusted-proxy settings (`trust proxy`; `app.proxy`, `maxIpsCount`), and pass only the
// answer (remoteAddress, encrypted) with no forwarded headers: nothing is left to decide here.
// Fetch-style handlers (Next's withSession and getSession, Bun, Deno, Workers) pass the forwarded
// headers, and sesame's `trustProxy` option decides which hops to believe, with proxy-addr's
// semantics (the same as Express's `trust proxy`): X-Forwarded-For is walked from the right, past
// every trusted proxy, and the first address that is not one is the client.

import proxyaddr from 'proxy-addr'
import type { ClientInfo } from './audit.js'
import { SessionConfigError } from './errors.js'

/**
 * Which proxies in front of the app to believe, as Express's `trust proxy`:
 * - `false` (default): none; X-Forwarded-* are ignored.
 * - a number: that many hops nearest the server are proxies (1: one proxy in front).
 * - addresses or CIDRs (an array, or one comma-separated string), also `loopback`, `linklocal`,
 *   `uniquelocal`: hops with those addresses are proxies.
 * - `true`: every hop is a proxy, so the left-most X-Forwarded-For entry is the client. Unsafe behind
 *   a proxy that appends to X-Forwarded-For (nginx's `$proxy_add_x_forwarded_for`): the client writes
 *   that entry itself.
 */
export type TrustProxy = boolean | number | string | readonly string[]

/** Is the address at this hop a proxy to believe? Hop 0 is the connection's peer. */
export type ProxyTrust = (address: string | undefined, hop: number) => boolean

export interface RequestInfo {
  /** The Cookie header, as received. */
  cookie: string | undefined | null
  /** The request came over HTTPS: the connection is TLS, or the framework's trusted protocol is https. */
  encrypted: boolean
  /**
   * The connection's peer; or, from adapters whose framework decides (Express req.ip, Koa ctx.ip),
   * the client address it decided. Fetch handlers have none: a Request carries no socket.
   */
  remoteAddress?: string | undefined
  /** X-Forwarded-For and X-Forwarded-Proto, from adapters that leave the decision to `trustProxy`. */
  forwardedFor?: string | undefined | null
  forwardedProto?: string | undefined | null
  userAgent?: string | undefined | null
  method?: string | undefined
  path?: string | undefined
  /** A read-only session (e.g. Next.js server components, where cookies cannot be set). */
  readOnly?: boolean
  /** Follow express-session's or koa-session's idioms where they differ (see compat/). */
  flavour?: 'express' | 'koa' | undefined
}

const trustNone: ProxyTrust = () => false
const trustAll: ProxyTrust = () => true

/** The trustProxy option as a function, checked at start-up (a bad address is a SessionConfigError). */
export function compileTrustProxy(value: TrustProxy | undefined): ProxyTrust {
  if (value === undefined || value === false) return trustNone
  if (value === true) return trustAll
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) throw new SessionConfigError('`trustProxy` as a number is the count of proxies in front of the app: a whole number (1 for one proxy).')
    return value === 0 ? trustNone : (_address, hop) => hop < value
  }
  const list = typeof value === 'string' ? value.split(',') : value
  if (!Array.isArray(list) || list.some((entry) => typeof entry !== 'string')) {
    throw new SessionConfigError('`trustProxy` must be false, true, a number of proxies, or proxy addresses/CIDRs (an array or a comma-separated string).')
  }
  const entries = list.map((entry: string) => entry.trim()).filter((entry) => entry !== '')
  if (entries.length === 0) return trustNone
  let trusted: (address: string, hop: number) => boolean
  try {
    trusted = proxyaddr.compile(entries)
  } catch (error) {
    throw new SessionConfigError(`\`trustProxy\`: ${(error as Error).message}; give IP addresses or CIDRs such as '10.0.0.0/8', or 'loopback', 'linklocal', 'uniquelocal'.`)
  }
  return (address, hop) => address !== undefined && trusted(address, hop)
}

/**
 * The client address. Without forwarded headers, the remote address as given. With them, proxy-addr's
 * walk: the hops are the peer (hop 0), then X-Forwarded-For from right to left; every trusted hop is
 * passed over, the first untrusted one is the client (the left-most entry if all are trusted).
 * A fetch handler does not see its peer: the peer is taken to be the nearest proxy, trusted whenever
 * trustProxy trusts anything, so a Next.js app with `trustProxy: 1` believes the entry its one proxy
 * appended. Such an app must not also be reachable directly, past the proxy.
 */
export function clientAddress(info: RequestInfo, trust: ProxyTrust): string | undefined {
  const peer = info.remoteAddress
  const forwarded = info.forwardedFor ? info.forwardedFor.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '') : []
  if (forwarded.length === 0 || !peerTrusted(peer, trust)) return peer
  let hop = forwarded.length - 1
  for (let index = 1; hop > 0 && trust(forwarded[hop], index); index++) hop--
  return forwarded[hop]
}

/** Is the connection's peer a proxy to believe (see clientAddress for a peer nobody saw)? */
function peerTrusted(peer: string | undefined, trust: ProxyTrust): boolean {
  return peer === undefined ? trust !== trustNone : trust(peer, 0)
}

export function clientInfo(info: RequestInfo, trust: ProxyTrust): ClientInfo {
  let ip = clientAddress(info, trust)
  if (ip?.startsWith('::ffff:')) ip = ip.slice(7)
  return { ip, userAgent: info.userAgent ?? undefined, method: info.method, path: info.path }
}

/** Over HTTPS: the connection (or the framework's trusted protocol); X-Forwarded-Proto when the peer is a trusted proxy, as Express's req.protocol. */
export function isSecure(info: RequestInfo, trust: ProxyTrust): boolean {
  if (info.encrypted) return true
  if (!info.forwardedProto || !peerTrusted(info.remoteAddress, trust)) return false
  return info.forwardedProto.split(',', 1)[0]!.trim().toLowerCase() === 'https'
}
