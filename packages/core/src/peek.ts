// The optimistic check an edge proxy can afford: does some cookie of our name unseal with our
// secret, and is its absolute deadline still ahead? No store access, so it cannot see logouts,
// revocations or idle expiry: the route's own load() stays the authoritative check.

import { readCookie } from './cookie.js'
import type { ResolvedOptions } from './options.js'
import { Sealer } from './seal.js'

export function createSessionPeek(options: ResolvedOptions): (cookieHeader: string | null | undefined) => Promise<boolean> {
  const sealer = new Sealer(options.secrets)
  return async (cookieHeader) => {
    const values = readCookie(cookieHeader, options.cookie.name)
    if (!values) return false
    for (const value of values) {
      const verified = await sealer.unseal(value)
      if (typeof verified !== 'string' && Date.now() < verified.createdAt + options.absoluteTimeout) return true
    }
    return false
  }
}
