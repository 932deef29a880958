// withSession: the fetch-style adapter. Request in, Response out; the commit lands on the Response.
// Works for Next.js route handlers and any (Request) => Response server (Bun.serve, Deno.serve, Workers).

import { SesameError, type Engine, type RequestInfo, type Session } from '@sesame/core'

/** What the wrapped handler gets as its second argument: the caller's context plus the session. */
export type SessionContext<Context> = (Context extends object ? Context : {}) & { session: Session }

export type FetchHandler<Context> = (request: Request, context: Context) => Response | Promise<Response>
export type SessionHandler<Context> = (request: Request, context: SessionContext<Context>) => Response | Promise<Response>

/**
 * Client address and protocol from a Request. A Request has no socket: the address is known only
 * from X-Forwarded-For, which core weighs with trustProxy (proxy-addr's semantics, see
 * @sesame/core's client.ts); the protocol is the URL's, i.e. what the server that built the Request
 * saw (Next.js derives it from the connection or a forwarded header), or X-Forwarded-Proto from a
 * trusted proxy.
 */
export function requestInfo(request: Request): RequestInfo {
  const headers = request.headers
  const url = request.url
  const scheme = url.indexOf(':')
  const pathStart = url.indexOf('/', scheme + 3)
  const queryStart = url.indexOf('?', pathStart)
  return {
    cookie: headers.get('cookie'),
    encrypted: url.slice(0, scheme).toLowerCase() === 'https',
    forwardedFor: headers.get('x-forwarded-for'),
    forwardedProto: headers.get('x-forwarded-proto'),
    userAgent: headers.get('user-agent'),
    method: request.method,
    path: pathStart === -1 ? '/' : queryStart === -1 ? url.slice(pathStart) : url.slice(pathStart, queryStart),
  }
}

/** Put the cookie on the response; a Response with immutable headers (redirect, fetch) is re-wrapped. */
export function withSetCookie(response: Response, cookie: string): Response {
  try {
    response.headers.append('Set-Cookie', cookie)
    return response
  } catch {
    const copy = new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers: new Headers(response.headers),
    })
    copy.headers.append('Set-Cookie', cookie)
    return copy
  }
}

/**
 * A store outage (503) or the reject limit (429) answers with its own status and code, as Express
 * and Koa do through their error handlers; a fetch-style handler has no error handler to reach.
 * Any other error (a programming error such as non-JSON session data) is thrown to the framework.
 */
function operational(error: unknown): Response {
  if (error instanceof SesameError && (error.status === 503 || error.status === 429)) {
    return Response.json({ code: error.code }, { status: error.status, headers: { 'Cache-Control': 'no-store', ...(error.status === 503 ? { 'Retry-After': '5' } : {}) } })
  }
  throw error
}

export function wrap<Context>(engine: () => Engine, handler: SessionHandler<Context>): FetchHandler<Context> {
  return async (request, context) => {
    const sessions = engine()
    let state
    try {
      state = await sessions.load(requestInfo(request))
    } catch (error) {
      return operational(error)
    }
    // The caller's context (Next passes `{ params }`) with the session added; nothing of it is dropped.
    const response = await handler(request, { ...(context as object), session: state.session } as SessionContext<Context>)
    if (!(response instanceof Response)) {
      throw new TypeError('A handler wrapped by withSession() must return a Response.')
    }
    let cookie: string | undefined
    try {
      cookie = await sessions.commit(state)
    } catch (error) {
      return operational(error)
    }
    return cookie === undefined ? response : withSetCookie(response, cookie)
  }
}
