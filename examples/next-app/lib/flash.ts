// One-time messages ("You have been logged out."), kept in the session as the Express app keeps
// them, and shown once: a reload no longer shows them (a `?loggedOut=1` in the URL did, forever).
// A server component cannot change the session, so proxy.ts takes the message out of the session
// before the home page renders and hands it over in a request header that only the proxy sets.
import { headers } from 'next/headers'

export const FLASH_HEADER = 'x-example-flash'

/** The message proxy.ts took out of the session for this request, if any. */
export async function takenFlash(): Promise<string | undefined> {
  const value = (await headers()).get(FLASH_HEADER)
  return value ? decodeURIComponent(value) : undefined
}
