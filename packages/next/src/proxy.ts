// proxy(): the optimistic check for proxy.ts (or middleware.ts on the edge runtime).
// It looks at the cookie alone — does it unseal with our secret, and is its absolute deadline
// still ahead — and never touches the store, so it is cheap enough to run on every navigation.
// It cannot see logouts, revocations or idle expiry: the route's own session check is the
// authoritative one. The proxy only keeps obviously anonymous visitors out early.

import { createSessionPeek, type ResolvedOptions } from '@sesame/core'

export interface ProxyOptions {
  /**
   * Paths to guard: a string guards that path and everything below it ('/account' guards
   * '/account' and '/account/x', not '/accounts'); a RegExp is tested against the pathname.
   * Default: every path the proxy runs on (narrow it with Next's `config.matcher`).
   */
  paths?: ReadonlyArray<string | RegExp>
  /**
   * Where to send a browser without a valid session, e.g. '/login'. The original path and query
   * are appended as `?next=`. Without it, the answer is 401.
   */
  redirectTo?: string
}

/** What proxy() returns: Next calls it with the request; `undefined` lets the request through. */
export type SessionProxy = (request: Request) => Promise<Response | undefined>

function guarded(pathname: string, paths: ReadonlyArray<string | RegExp> | undefined): boolean {
  if (!paths) return true
  return paths.some((path) =>
    typeof path === 'string'
      ? pathname === path || pathname.startsWith(path.endsWith('/') ? path : path + '/')
      : path.test(pathname),
  )
}

export function createProxy(options: () => ResolvedOptions, proxyOptions: ProxyOptions = {}): SessionProxy {
  let peek: ReturnType<typeof createSessionPeek> | undefined
  const { paths, redirectTo } = proxyOptions
  if (redirectTo !== undefined && !redirectTo.startsWith('/')) {
    throw new TypeError('proxy({ redirectTo }) must be a path on this site, starting with "/".')
  }
  return async (request) => {
    const url = new URL(request.url)
    if (!guarded(url.pathname, paths)) return undefined
    if (redirectTo !== undefined && url.pathname === redirectTo) return undefined
    peek ??= createSessionPeek(options())
    if (await peek(request.headers.get('cookie'))) return undefined
    if (redirectTo === undefined) {
      return new Response('Unauthorized', { status: 401, headers: { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' } })
    }
    const target = new URL(redirectTo, url)
    target.searchParams.set('next', url.pathname + url.search)
    return new Response(null, { status: 307, headers: { Location: target.toString(), 'Cache-Control': 'no-store' } })
  }
}
