// Who is asking, and over what: the client address and protocol, honouring trustProxy.
// Adapters pass what the socket and headers say; the decision is made here, once, for every framework.

import type { ClientInfo } from './audit.js'

export interface RequestInfo {
  /** The Cookie header, as received. */
  cookie: string | undefined | null
  /** The connection itself is TLS. */
  encrypted: boolean
  remoteAddress?: string | undefined
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

/** With trustProxy, the left-most X-Forwarded-For address (the original client, as Express's `trust proxy: true`). */
export function clientInfo(info: RequestInfo, trustProxy: boolean): ClientInfo {
  let ip = info.remoteAddress
  if (trustProxy && info.forwardedFor) {
    const first = info.forwardedFor.split(',', 1)[0]!.trim()
    if (first) ip = first
  }
  if (ip?.startsWith('::ffff:')) ip = ip.slice(7)
  return { ip, userAgent: info.userAgent ?? undefined, method: info.method, path: info.path }
}

export function isSecure(info: RequestInfo, trustProxy: boolean): boolean {
  if (trustProxy && info.forwardedProto) {
    return info.forwardedProto.split(',', 1)[0]!.trim().toLowerCase() === 'https'
  }
  return info.encrypted
}
