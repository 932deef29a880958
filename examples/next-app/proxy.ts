// The guard in front of /sessions: an optimistic check from the cookie alone (no store access).
// A missing, forged or past-its-absolute-deadline cookie is sent to the login form; a logged-out
// or revoked session that still has a valid-looking cookie gets through here and is refused by
// the page itself, which checks the store.
import { sessions } from './lib/session'

export const proxy = sessions.proxy({ redirectTo: '/' })

export const config = { matcher: ['/sessions/:path*'] }
