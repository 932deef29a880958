// Idle and absolute timeouts, always from server-side timestamps (never from the cookie or client).

import type { SessionRecord } from './store.js'

export type ExpiryReason = 'idle' | 'absolute'

/** The store deadline after activity at `now`: the idle deadline, capped by the absolute one. */
export function nextExpiry(now: number, idleTimeout: number, absoluteExpiresAt: number): number {
  return Math.min(now + idleTimeout, absoluteExpiresAt)
}

/** Why this record is dead at `now`, or undefined while it is alive. */
export function expiryReason(record: Pick<SessionRecord, 'expiresAt' | 'absoluteExpiresAt'>, now: number): ExpiryReason | undefined {
  if (now >= record.absoluteExpiresAt) return 'absolute'
  if (now >= record.expiresAt) return 'idle'
  return undefined
}
