// Operations on a user's sessions for the app (ASVS 7.4.2, 7.4.5, 7.5.2): list them for a "your active
// sessions" page, revoke one, revoke all (password change, account disabled).
// The store's user index holds store keys (hashes of the ids); a session is named to the app by its
// sessionRef, and the app names its own current session by its raw id, which is hashed here.

import type { EngineContext } from './engine-context.js'
import { storeCall } from './store-call.js'
import { storeKey } from './store-key.js'
import { expiryReason } from './timeouts.js'

/** One of a user's sessions, as listed for a "your active sessions" page. */
export interface UserSessionInfo {
  /** Stable handle for this session (its sessionRef): safe to put in a page or a form. */
  ref: string
  createdAt: number
  lastActiveAt: number
  expiresAt: number
  ip: string | undefined
  userAgent: string | undefined
  /** It is the session of the request that asked (when `current` was passed). */
  current: boolean
}

/** The live sessions of a user, newest activity first. `current` is the asking session's `session.id`. */
export async function listUserSessions(context: EngineContext, userId: string, options: { current?: string } = {}): Promise<UserSessionInfo[]> {
  const sessions = await storeCall(context.audit, 'listByUser', '', undefined, () => context.store.listByUser(userId))
  const currentKey = options.current === undefined ? undefined : await storeKey(options.current)
  const now = Date.now()
  const listed: UserSessionInfo[] = []
  for (const { id: key, record } of sessions) {
    if (expiryReason(record, now)) continue
    listed.push({
      ref: await context.audit.ref(key),
      createdAt: record.createdAt,
      lastActiveAt: record.lastActiveAt,
      expiresAt: record.expiresAt,
      ip: record.ip,
      userAgent: record.userAgent,
      current: key === currentKey,
    })
  }
  return listed.sort((a, b) => b.lastActiveAt - a.lastActiveAt)
}

/** End one of a user's sessions, named by its `ref` from listUserSessions. Returns whether it existed. */
export async function revokeSession(context: EngineContext, userId: string, ref: string): Promise<boolean> {
  const sessions = await storeCall(context.audit, 'listByUser', '', undefined, () => context.store.listByUser(userId))
  for (const { id: key } of sessions) {
    if ((await context.audit.ref(key)) !== ref) continue
    const removed = await storeCall(context.audit, 'destroy', key, undefined, () => context.store.destroy(key))
    if (removed) context.audit.emit('session.revoked', key, undefined, { userId })
    return removed
  }
  return false
}

/** End every session of a user, except the one whose `session.id` is `except`. Returns how many ended. */
export async function revokeUserSessions(context: EngineContext, userId: string, options: { except?: string } = {}): Promise<number> {
  const exceptKey = options.except === undefined ? undefined : await storeKey(options.except)
  const removed = await storeCall(context.audit, 'destroyByUser', '', undefined, () => context.store.destroyByUser(userId, exceptKey))
  for (const key of removed) context.audit.emit('session.revoked', key, undefined, { userId })
  return removed.length
}
