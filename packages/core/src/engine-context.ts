// What the engine's parts (load, commit, rebind, destroy, user-sessions) share: one per engine.

import type { Audit, ClientInfo } from './audit.js'
import type { ResolvedOptions } from './options.js'
import type { RecentExpiries } from './recent-expiries.js'
import type { RejectLimiter } from './reject-limit.js'
import type { Sealer } from './seal.js'
import type { SessionHost } from './session.js'
import type { SessionRecord, SessionStore } from './store.js'
import type { ExpiryReason } from './timeouts.js'

export interface EngineContext {
  readonly options: ResolvedOptions
  readonly store: SessionStore
  readonly audit: Audit
  readonly sealer: Sealer
  readonly limiter: RejectLimiter
  readonly recentExpiries: RecentExpiries
  /** The engine, which the session objects call back into. */
  readonly host: SessionHost
}

/** `session.expired` for the session stored under `key`, with its age and idle time. */
export function emitExpired(context: EngineContext, key: string, record: SessionRecord, reason: ExpiryReason, client: ClientInfo | undefined): void {
  const now = Date.now()
  context.audit.emit('session.expired', key, client, {
    reason,
    userId: record.userId,
    ageMs: now - record.createdAt,
    idleMs: now - record.lastActiveAt,
  })
}
