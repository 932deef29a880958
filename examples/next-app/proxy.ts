// Two jobs, both before the page renders:
// - /sessions: an optimistic guard from the cookie alone (no store access). A missing, forged or
//   past-its-absolute-deadline cookie is sent to the login form; a logged-out or revoked session
//   that still has a valid-looking cookie gets through here and is refused by the page itself,
//   which checks the store.
// - GET / after an action left a one-time message (lib/flash.ts): take it out of the session
//   (server components cannot change the session) and pass it to the page in a request header.
import { NextResponse, type NextRequest } from 'next/server'
import { FLASH_COOKIE, FLASH_HEADER } from './lib/flash'
import { sessions } from './lib/session'

const guard = sessions.proxy({ paths: ['/sessions'], redirectTo: '/' })

const takeFlash = sessions.withSession(async (request, { session }) => {
  const headers = new Headers(request.headers)
  headers.delete(FLASH_HEADER)
  if (typeof session.flash === 'string') {
    headers.set(FLASH_HEADER, encodeURIComponent(session.flash))
    delete session.flash // committed by withSession before the page renders
  }
  const response = NextResponse.next({ request: { headers } })
  response.cookies.delete(FLASH_COOKIE)
  return response
})

export async function proxy(request: NextRequest): Promise<Response | undefined> {
  if (request.nextUrl.pathname === '/' && request.method === 'GET') {
    if (request.cookies.has(FLASH_COOKIE)) return takeFlash(request, {})
    // A client's own header never reaches the page: only the proxy says what the message is.
    if (request.headers.has(FLASH_HEADER)) {
      const headers = new Headers(request.headers)
      headers.delete(FLASH_HEADER)
      return NextResponse.next({ request: { headers } })
    }
    return undefined
  }
  return guard(request)
}

export const config = { matcher: ['/', '/sessions/:path*'] }
