// One-time messages ("You have been logged out."), kept in the session as the Express app keeps
// them, and shown once: a reload no longer shows them (a `?loggedOut=1` in the URL did, forever).
// A server component cannot change the session, so proxy.ts takes the message out of the session
// before the home page renders and hands it over in a request header that only the proxy sets.
// The action that leaves a message also sets a small marker cookie (it says only "there is a
// message"), so the proxy loads the session just for those requests: on every other request the
// page's own load is the only one (two loads of one expired session would report it twice).
import { cookies, headers } from 'next/headers'

export const FLASH_HEADER = 'x-example-flash'
export const FLASH_COOKIE = 'flash'

/** Mark the response of a server action that left a message in the session. */
export async function markFlash(): Promise<void> {
  ;(await cookies()).set(FLASH_COOKIE, '1', { path: '/', httpOnly: true, sameSite: 'lax', maxAge: 60 })
}

/** The message proxy.ts took out of the session for this request, if any. */
export async function takenFlash(): Promise<string | undefined> {
  const value = (await headers()).get(FLASH_HEADER)
  return value ? decodeURIComponent(value) : undefined
}
