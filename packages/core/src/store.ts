// The store contract. Concurrency safety lives here: a commit carries the change
// (keys set, keys removed, new deadlines, the bound user), never a full copy, and
// applies only if the session still exists; create applies only if the id is new.
// Ids a store sees are never raw session ids: the engine keys every store by a one-way hash of the
// id (so a leaked store, replica or backup holds nothing a cookie could name): `storeKey(id)`, the
// SHA-256 of the id in base64url (store-key.ts). Every `id` below is such a store key, the user index
// holds the same keys, and the ids of StoreEvents are store keys too: the engine emits audit events
// with the store key as subject, so a store's evicted/expired event and the events of that session's
// requests carry the same sessionRef.
// See the package README ("Writing a store") for the rules a store must keep.

/** Milliseconds since the epoch. */
export type EpochMs = number

/** What a store keeps for one session. Values of `data` are JSON text, one per key. */
export interface SessionRecord {
  /** key -> JSON.stringify(value). Keys never include `__proto__`, `constructor` or `prototype`. */
  readonly data: Readonly<Record<string, string>>
  /** The user bound by `session.login(userId)`, if any. */
  readonly userId?: string | undefined
  readonly createdAt: EpochMs
  readonly lastActiveAt: EpochMs
  /** The earlier of the idle and the absolute deadline: the store may drop the record from then on. */
  readonly expiresAt: EpochMs
  /** createdAt + absoluteTimeout: no touch ever moves `expiresAt` past this. */
  readonly absoluteExpiresAt: EpochMs
  /** Client address and user agent when the session was created or logged in (for "your sessions" pages). */
  readonly ip?: string | undefined
  readonly userAgent?: string | undefined
}

/** The change one request made. Applied atomically, and only if the session still exists. */
export interface SessionUpdate {
  /** key -> new JSON text */
  readonly set: Readonly<Record<string, string>>
  /** keys deleted by the request */
  readonly unset: readonly string[]
  /** undefined: unchanged; a string: bind this user; null: unbind */
  readonly userId?: string | null | undefined
  readonly lastActiveAt: EpochMs
  readonly expiresAt: EpochMs
}

/** Something the store did on its own, which the engine turns into an audit event (`id`: the store key). */
export type StoreEvent =
  | { readonly type: 'evicted'; readonly id: string; readonly record: SessionRecord }
  | { readonly type: 'expired'; readonly id: string; readonly record: SessionRecord }
  /** A failover store switched to its fallback, or back to its primary. */
  | { readonly type: 'failover'; readonly state: 'fallback' | 'primary' }

export type StoreListener = (event: StoreEvent) => void

export interface StoredSession {
  readonly id: string
  readonly record: SessionRecord
}

/**
 * A place to keep sessions. Every method may return a value or a promise; a failure is a thrown
 * error or a rejected promise (the engine turns it into `SessionStoreUnavailable`, HTTP 503).
 *
 * The engine never mutates an object a store returns, so a store may hand out its own copy.
 */
export interface SessionStore {
  /** The live record, or undefined when there is none or it has expired (`expiresAt` <= now). */
  get(id: string): SessionRecord | undefined | Promise<SessionRecord | undefined>
  /** Insert a new session. Returns false, and changes nothing, when the id already exists. */
  create(id: string, record: SessionRecord): boolean | Promise<boolean>
  /** Apply one request's change. Returns false, and changes nothing, when the session does not exist. */
  update(id: string, update: SessionUpdate): boolean | Promise<boolean>
  /** Move the activity time and deadline. Returns false, and changes nothing, when the session does not exist. */
  touch(id: string, lastActiveAt: EpochMs, expiresAt: EpochMs): boolean | Promise<boolean>
  /**
   * Give a session a new id (regenerate, login) in one step: afterwards `record` is stored under
   * `newId` (its user index entry too) and `oldId` is gone. Returns false, and changes nothing, when
   * `oldId` does not exist (destroyed, revoked, expired) or `newId` already does.
   * It may arrive late: when the engine stops waiting for it (a timeout, HTTP 503) the client keeps its
   * old cookie, and the engine calls undoRename, which must then win.
   */
  rename(oldId: string, newId: string, record: SessionRecord): boolean | Promise<boolean>
  /**
   * Take back a rename whose answer never came: afterwards `oldId` is live exactly as it was before
   * the rename (if the rename applied, or applies later) and `newId` is gone; a no-op when the rename
   * never applied. It must take effect after the rename it undoes even when that one is still in flight
   * (Redis: commands on one connection run in order). Returns whether `oldId` is live afterwards.
   */
  undoRename(oldId: string, newId: string): boolean | Promise<boolean>
  /** Remove a session. Returns whether it existed. */
  destroy(id: string): boolean | Promise<boolean>
  /** Every live session bound to this user, found through an index (never a scan of all sessions). */
  listByUser(userId: string): StoredSession[] | Promise<StoredSession[]>
  /** Remove every session bound to this user (optionally keeping one id). Returns the removed ids. */
  destroyByUser(userId: string, exceptId?: string): string[] | Promise<string[]>
  /** Optional: report evictions and expiries the store does by itself. Returns an unsubscribe function. */
  subscribe?(listener: StoreListener): () => void
  /** Optional: stop timers and release connections the store owns. */
  close?(): void | Promise<void>
}
