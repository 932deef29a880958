// Two jobs, both before the page renders:
// - /sessions: an optimistic guard from the cookie alone (no store access). A missing, forged or
//   past-its-absolute-deadline cookie is sent to the login form; a logged-out or revoked session
//   that still has a valid-looking cookie gets through here and is refused by the page itself,
//   which checks the store.
// - GET /: take the one-time flash message out of the session (server components cannot change
//   the session) and pass it to the page in a request header (lib/flash.ts).
import { NextResponse, type NextRequest } from 'next/server'
import { FLASH_HEADER } from './lib/flash'
import { sessions } from './lib/session'

const guard = sessions.proxy({ paths: ['/sessions'], redirectTo: '/' })

const takeFlash = sessions.withSession(async (request, { session }) => {
  const headers = new Headers(request.headers)
  headers.delete(FLASH_HEADER) // a client's own header never reaches the page
  if (typeof session.flash === 'string') {
    headers.set(FLASH_HEADER, encodeURIComponent(session.flash))
    delete session.flash // committed by withSession before the page renders
  }
  return NextResponse.next({ request: { headers } })
})

export async function proxy(request: NextRequest): Promise<Response | undefined> {
  if (request.nextUrl.pathname === '/' && request.method === 'GET') return takeFlash(request, {})
  return guard(request)
}

export const config = { matcher: ['/', '/sessions/:path*'] }
