// The store for more than one process: sessions in Redis, through the application's own client
// (node-redis or ioredis, single server or Cluster: client.ts). Every mutation is one Lua script on
// the keys of one hash tag (see scripts.ts), so it is atomic and runs on a Redis Cluster too; every
// call is bounded by `commandTimeout` and fails as SessionStoreUnavailable, so an outage answers 503
// quickly instead of hanging requests or logging users out.

import { parseDuration, SessionConfigError, SessionStoreUnavailable } from '@sesame/core'
import type { EpochMs, SessionRecord, SessionStore, SessionUpdate, StoredSession, StoreListener } from '@sesame/core'
import { storeClientOf, type IoRedisClient, type NodeRedisClient, type ScopedCommands, type StoreClient } from './client.js'
import {
  createIfAbsent,
  deleteIfExpired,
  destroyIfBoundTo,
  destroySession,
  indexAdd,
  indexMembers,
  restoreRetired,
  markAnswered,
  restoreAbandoned,
  retireSession,
  touchIfExists,
  updateIfExists,
  type LuaScript,
} from './scripts.js'
import { SessionInDoubt } from './session-in-doubt.js'

/** What `client` may be: a node-redis or ioredis client (detected), or an adapter from client.ts. */
export type RedisStoreClient = NodeRedisClient | IoRedisClient | StoreClient

export interface RedisStoreOptions {
  /**
   * The app's client, already connected (the store never connects, quits or reconnects it): node-redis
   * `createClient()` / `createCluster()` / `createSentinel()`, or ioredis `new Redis()` / `new Cluster()`.
   */
  client: RedisStoreClient
  /** Prefix of every key this store writes. Default 'sesame:'. Must not contain '{' or '}'. */
  prefix?: string
  /** Longest one store call may take (all of its commands) before it fails. Default '2s'. */
  commandTimeout?: number | string
  /**
   * How long Redis keeps a session after its deadline, never serving it, so that a request arriving in
   * that time is reported as expired (`session.expired`, reason idle) rather than as an unknown id.
   * Default '1h'; 0 lets Redis drop it at the deadline.
   */
  expiredRetention?: number | string
}

/**
 * How long the old hash of a rename (regenerate, login) is kept under its retired key, for an
 * undoRename that arrives late (after a stalled or dropped connection, or a Redis restart): an undo
 * that lands later than this finds nothing to put back.
 */
const RETIRED_KEEP_MS = 10 * 60_000
/**
 * Once the rename's answer has come back in time, only a caller that stopped waiting on its own can
 * still send an undo, at once: the retired copy is then kept this long instead.
 */
const RETIRED_KEEP_AFTER_ANSWER_MS = 60_000
/** An undoRename lost with its connection is sent again after this long, then twice as long, up to the max. */
const UNDO_RETRY_FIRST_MS = 100
const UNDO_RETRY_MAX_MS = 5_000
/** Added to a rename's deadline before a get() may treat it as abandoned (event-loop lag of the caller). */
const ABANDON_SLACK_MS = 100

const DATA = 'd:'
const META = {
  createdAt: 'm:createdAt',
  lastActiveAt: 'm:lastActiveAt',
  expiresAt: 'm:expiresAt',
  absoluteExpiresAt: 'm:absoluteExpiresAt',
  userId: 'm:userId',
  ip: 'm:ip',
  userAgent: 'm:userAgent',
} as const

/** Redis takes whole milliseconds; rounding down never lets a session outlive its deadline. */
function wholeMs(ms: EpochMs): string {
  return String(Math.floor(ms))
}

function fieldsOf(reply: unknown): Record<string, string> {
  if (reply instanceof Map) return Object.fromEntries([...reply].map(([k, v]) => [String(k), String(v)]))
  return (reply ?? {}) as Record<string, string>
}

/** The create script answers Redis' time (ms) when it created the session, 0 when the id was taken. */
function created(reply: unknown): boolean {
  return typeof reply === 'number' && reply > 0
}

/** What a script answers for a session retired by a rename whose outcome is not known yet. */
const PENDING = 'pending'

/** A Lua HGETALL result (a flat field, value list) as an object; anything else as it is. */
function pairsOf(reply: unknown): unknown {
  if (!Array.isArray(reply)) return undefined
  const fields: Record<string, string> = {}
  for (let i = 0; i + 1 < reply.length; i += 2) fields[String(reply[i])] = String(reply[i + 1])
  return fields
}

function toRecord(reply: unknown): SessionRecord | undefined {
  const fields = fieldsOf(reply)
  const createdAt = fields[META.createdAt]
  if (createdAt === undefined) return undefined
  const data: Record<string, string> = {}
  for (const field in fields) {
    if (field.startsWith(DATA)) data[field.slice(DATA.length)] = fields[field]!
  }
  return {
    data,
    userId: fields[META.userId],
    createdAt: Number(createdAt),
    lastActiveAt: Number(fields[META.lastActiveAt]),
    expiresAt: Number(fields[META.expiresAt]),
    absoluteExpiresAt: Number(fields[META.absoluteExpiresAt]),
    ip: fields[META.ip],
    userAgent: fields[META.userAgent],
  }
}

export class RedisStore implements SessionStore {
  readonly #client: StoreClient
  /** Commands that go out whenever the client can send them, even past a deadline (undoRename only). */
  readonly #connected: ScopedCommands
  readonly #prefix: string
  readonly #timeoutMs: number
  readonly #retentionMs: number
  readonly #listeners = new Set<StoreListener>()

  constructor(options: RedisStoreOptions) {
    const client = storeClientOf(options?.client)
    const prefix = options.prefix ?? 'sesame:'
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
      throw new SessionConfigError("redisStore `prefix` must be a string without '{' or '}' (braces would change the Redis Cluster hash slot).")
    }
    const timeoutMs = parseDuration(options.commandTimeout ?? 2_000)
    if (timeoutMs === undefined || timeoutMs <= 0) {
      throw new SessionConfigError("redisStore `commandTimeout` must be a positive duration such as '2s' or 500.")
    }
    const retentionMs = parseDuration(options.expiredRetention ?? 3_600_000)
    if (retentionMs === undefined || retentionMs < 0) {
      throw new SessionConfigError("redisStore `expiredRetention` must be a duration such as '1h', or 0.")
    }
    this.#retentionMs = retentionMs
    this.#client = client
    this.#connected = client.delivered
    this.#prefix = prefix
    this.#timeoutMs = timeoutMs
  }

  // The braces are a hash tag: everything of one session hashes to one Cluster slot.
  #sessionKey(id: string): string {
    return `${this.#prefix}s:{${id}}`
  }

  /** Where rename() keeps the old session's hash until the rename is known to have succeeded (same hash tag). */
  #retiredKey(id: string): string {
    return `${this.#prefix}r:{${id}}`
  }

  #userKey(userId: string): string {
    return `${this.#prefix}u:{${userId}}`
  }

  /** Calls in flight, each with its deadline; one sweep timer for all of them (not a timer per call). */
  readonly #inflight = new Set<{ deadline: number; fail: () => void }>()
  #sweeper: ReturnType<typeof setInterval> | undefined

  #sweep(): void {
    const now = Date.now()
    for (const call of this.#inflight) {
      if (call.deadline <= now) {
        this.#inflight.delete(call)
        call.fail()
      }
    }
    if (this.#inflight.size === 0 && this.#sweeper) {
      clearInterval(this.#sweeper)
      this.#sweeper = undefined
    }
  }

  /**
   * Runs one store call under one deadline. When it passes, the call rejects, and its commands still
   * waiting for a connection (node-redis' offline queue, or ioredis-client.ts' own wait for a ready
   * client) are withdrawn: without that they would run after a reconnect, writing what the caller was
   * told had failed. Deadlines are checked by one shared, unref'd sweep every commandTimeout / 10 (at
   * least 10 ms), so a call fails at most that much after its deadline; a timer and a Promise.race per
   * call cost more than the rest of the store's own work.
   */
  #run<T>(operation: string, work: (redis: ScopedCommands, deadline: number) => Promise<T>, late: 'withdraw' | 'deliver' = 'withdraw'): Promise<T> {
    // 'deliver' (undoRename only): the commands go out even after the deadline, from the client's
    // offline queue after a reconnect, because their whole point is to land after a call that may
    // itself land late. The caller still gets its answer (or the error) by the deadline.
    const commands = late === 'deliver' ? undefined : this.#client.call()
    return new Promise<T>((resolve, reject) => {
      let settled = false
      const call = {
        deadline: Date.now() + this.#timeoutMs,
        fail: () => {
          if (settled) return
          settled = true
          commands?.expire()
          reject(new SessionStoreUnavailable(operation, { cause: new Error(`Redis did not answer within ${this.#timeoutMs} ms`) }))
        },
      }
      this.#inflight.add(call)
      if (!this.#sweeper) {
        this.#sweeper = setInterval(() => this.#sweep(), this.#sweepMs())
        ;(this.#sweeper as { unref?: () => void }).unref?.()
      }
      let attempt: Promise<T>
      try {
        attempt = work(commands ?? this.#connected, call.deadline)
      } catch (error) {
        attempt = Promise.reject(error)
      }
      attempt.then(
        (value) => {
          this.#inflight.delete(call)
          if (settled) return
          settled = true
          commands?.expire()
          resolve(value)
        },
        (error: unknown) => {
          this.#inflight.delete(call)
          if (settled) return
          settled = true
          commands?.expire()
          reject(error instanceof SessionStoreUnavailable ? error : new SessionStoreUnavailable(operation, { cause: error }))
        },
      )
    })
  }

  #sweepMs(): number {
    return Math.max(10, Math.floor(this.#timeoutMs / 10))
  }

  #script(redis: ScopedCommands, script: LuaScript, key: string | string[], args: string[]): Promise<unknown> {
    const call = { keys: typeof key === 'string' ? [key] : key, arguments: args }
    return redis.evalSha(script.sha, call).catch((error: unknown) => {
      // First use on this server (or after SCRIPT FLUSH / a failover to a fresh replica): send the source.
      if (String((error as Error)?.message).startsWith('NOSCRIPT')) return redis.eval(script.source, call)
      throw error
    })
  }

  /** Index maintenance whose failure only leaves a harmless stale member (readers re-check the session). */
  async #bestEffort(work: Promise<unknown>): Promise<void> {
    await work.catch(() => {})
  }

  #emit(event: Parameters<StoreListener>[0]): void {
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch {
        // A listener's failure must not fail the store call.
      }
    }
  }

  /**
   * The live record, or undefined. A session past its deadline that Redis still keeps (its retention)
   * is deleted here and reported to subscribers as `expired` BEFORE get() resolves, so the engine
   * audits the miss as `session.expired` (idle or absolute), not as an unknown id.
   */
  get(id: string): Promise<SessionRecord | undefined> {
    return this.#run('get', async (redis) => {
      const key = this.#sessionKey(id)
      let record = toRecord(await redis.hGetAll(key))
      // Not there: it may be the old id of a rename whose answer never came (the client kept this
      // cookie), whose undo has not landed yet, or was lost with its connection or process.
      if (!record) {
        const reply = await this.#script(redis, restoreAbandoned, [key, this.#retiredKey(id)], [String(this.#retentionMs)])
        if (reply === PENDING) throw new SessionInDoubt('get')
        record = toRecord(pairsOf(reply))
      }
      if (!record) return undefined
      const now = Date.now()
      if (record.expiresAt > now) return record
      // Only the reader that deletes it reports it (several processes may read it at once).
      const userId = (await this.#script(redis, deleteIfExpired, key, [wholeMs(now)])) as string | null
      if (userId === null || userId === undefined) return undefined
      if (userId !== '') await this.#bestEffort(redis.zRem(this.#userKey(userId), [id]))
      this.#emit({ type: 'expired', id, record })
      return undefined
    })
  }

  /** The create script's arguments: now, the key's own expiry, then every field of the hash. */
  #createArgs(record: SessionRecord, now: number): string[] {
    const expiresAt = Math.min(record.expiresAt, record.absoluteExpiresAt)
    const args = [
      wholeMs(now), wholeMs(expiresAt + this.#retentionMs),
      META.createdAt, wholeMs(record.createdAt),
      META.lastActiveAt, wholeMs(record.lastActiveAt),
      META.expiresAt, wholeMs(expiresAt),
      META.absoluteExpiresAt, wholeMs(record.absoluteExpiresAt),
    ]
    if (record.userId !== undefined) args.push(META.userId, record.userId)
    if (record.ip !== undefined) args.push(META.ip, record.ip)
    if (record.userAgent !== undefined) args.push(META.userAgent, record.userAgent)
    for (const key in record.data) args.push(DATA + key, record.data[key]!)
    return args
  }

  create(id: string, record: SessionRecord): Promise<boolean> {
    return this.#run('create', async (redis) => {
      // Index first: a bound session must never exist outside its user's index, or revoking the
      // user's sessions would miss it. A failed create leaves a member that readers skip.
      if (record.userId !== undefined) await this.#index(redis, record.userId, id, record.absoluteExpiresAt)
      return created(await this.#script(redis, createIfAbsent, this.#sessionKey(id), this.#createArgs(record, Date.now())))
    })
  }

  update(id: string, update: SessionUpdate): Promise<boolean> {
    return this.#run('update', (redis) => {
      const key = this.#sessionKey(id)
      // The common case (no user change) is one script and nothing else.
      if (update.userId === undefined) return this.#script(redis, updateIfExists, [key, this.#retiredKey(id)], this.#updateArgs(update, 'keep')).then((reply) => {
        if (reply === PENDING) throw new SessionInDoubt('update')
        return reply !== null && reply !== undefined
      })
      return this.#rebindingUpdate(redis, id, key, update)
    })
  }

  #updateArgs(update: SessionUpdate, mode: 'keep' | 'bind' | 'unbind'): string[] {
    const setKeys = Object.keys(update.set)
    const args = [
      wholeMs(Date.now()), String(this.#retentionMs),
      wholeMs(update.lastActiveAt), wholeMs(update.expiresAt), mode, update.userId ?? '', String(setKeys.length),
    ]
    for (const name of setKeys) args.push(DATA + name, update.set[name]!)
    for (const name of update.unset) args.push(DATA + name)
    return args
  }

  async #rebindingUpdate(redis: ScopedCommands, id: string, key: string, update: SessionUpdate): Promise<boolean> {
    if (typeof update.userId === 'string') {
      // Binding a user: index first (as in create), which needs the session's absolute deadline.
      // (Absent: the script below answers, without the index: nothing will be bound.)
      const absolute = await redis.hGet(key, META.absoluteExpiresAt)
      if (absolute !== null && absolute !== undefined) await this.#index(redis, update.userId, id, Number(absolute))
    }
    const mode = update.userId === null ? 'unbind' : 'bind'
    const reply = (await this.#script(redis, updateIfExists, [key, this.#retiredKey(id)], this.#updateArgs(update, mode))) as [number, string] | string | null
    if (reply === PENDING) throw new SessionInDoubt('update')
    if (!Array.isArray(reply)) return false
    const previousUserId = reply[1]
    if (previousUserId !== '' && previousUserId !== update.userId) {
      await this.#bestEffort(redis.zRem(this.#userKey(previousUserId), [id]))
    }
    return true
  }

  touch(id: string, lastActiveAt: EpochMs, expiresAt: EpochMs): Promise<boolean> {
    return this.#run('touch', async (redis) => {
      const args = [wholeMs(Date.now()), String(this.#retentionMs), wholeMs(lastActiveAt), wholeMs(expiresAt)]
      const reply = await this.#script(redis, touchIfExists, [this.#sessionKey(id), this.#retiredKey(id)], args)
      if (reply === PENDING) throw new SessionInDoubt('touch')
      return reply === 1
    })
  }

  /**
   * The id change of regenerate/login, as two scripts (the old and the new id hash to different
   * Cluster slots, and no script may touch two): (1) create the new session (index first, as in
   * create), (2) retire the old one: its hash moves to `r:{old}`, marked with the new id. Between the
   * two both exist; never neither. If the answer never comes, undoRename (sent on the same
   * connection, so it runs after whatever of this already went out) puts the old hash back and deletes
   * the new one, and a step not yet sent when the deadline passed is never sent.
   */
  rename(oldId: string, newId: string, record: SessionRecord): Promise<boolean> {
    return this.#run('rename', async (redis, deadline) => {
      if (record.userId !== undefined) await this.#index(redis, record.userId, newId, record.absoluteExpiresAt)
      const newKey = this.#sessionKey(newId)
      const sentAt = Date.now()
      const createdAtRedisTime = await this.#script(redis, createIfAbsent, newKey, this.#createArgs(record, sentAt))
      if (!created(createdAtRedisTime)) return false
      // The call's deadline in Redis' clock, without comparing two hosts' clocks: the create ran after
      // it was sent, so its Redis time plus what was left of the budget then is no earlier than the
      // deadline (and later by at most the create's trip to Redis). The retire refuses to land after
      // it; one sweep (plus event-loop lag) later the caller has certainly stopped waiting.
      const cutoff = (createdAtRedisTime as number) + (deadline - sentAt)
      const abandonAt = cutoff + this.#sweepMs() + ABANDON_SLACK_MS
      const retired = this.#retiredKey(oldId)
      const retireArgs = [wholeMs(Date.now()), newId, String(RETIRED_KEEP_MS), wholeMs(cutoff), wholeMs(abandonAt)]
      const oldUserId = (await this.#script(redis, retireSession, [this.#sessionKey(oldId), retired], retireArgs)) as string | number | null
      if (oldUserId === -1) throw new Error('the rename reached Redis after its deadline and was refused')
      if (typeof oldUserId !== 'string') {
        // The old session ended meanwhile (logout, revoke, expiry): take the new one back.
        await this.#script(redis, destroySession, [newKey, this.#retiredKey(newId)], [wholeMs(Date.now())])
        return false
      }
      // Answered in time, so an undoRename is unlikely: mark it so without making the caller wait (on
      // the plain client: safe whenever it lands, and a NOSCRIPT retry must not be cut off). The old id
      // stays in its user's index while its retired copy lives, so that a revoke-all deletes that too.
      void this.#bestEffort(this.#script(this.#connected, markAnswered, retired, [newId, String(RETIRED_KEEP_AFTER_ANSWER_MS)]))
      return true
    })
  }

  /**
   * Takes back a rename whose answer never came: puts the old hash back (only if it was retired for
   * this very rename and the old id is free) and deletes the new session. Both scripts go out at
   * once and are delivered even past the deadline (from the offline queue after a reconnect), since
   * they must land after the rename they undo; if the connection drops under them, they are sent
   * again (both are idempotent) until they land or the retired copy is gone. The caller still gets
   * its answer by the deadline. Returns whether the old session is live afterwards.
   */
  undoRename(oldId: string, newId: string): Promise<boolean> {
    const attempt = () => this.#undoOnce(oldId, newId)
    return this.#run(
      'undoRename',
      () => {
        const first = attempt()
        first.catch(() => this.#retryUndo(attempt, Date.now() + RETIRED_KEEP_MS, UNDO_RETRY_FIRST_MS))
        return first
      },
      'deliver',
    )
  }

  async #undoOnce(oldId: string, newId: string): Promise<boolean> {
    const redis = this.#connected
    const now = wholeMs(Date.now())
    const restored = this.#script(redis, restoreRetired, [this.#sessionKey(oldId), this.#retiredKey(oldId)], [now, newId, String(this.#retentionMs)])
    const discarded = this.#script(redis, destroySession, [this.#sessionKey(newId), this.#retiredKey(newId)], [now])
    const [reply, newUserId] = await Promise.all([restored, discarded])
    const [live, userId, absoluteExpiresAt] = (reply as [number, string, string] | null) ?? [0, '', '']
    // Back in its user's index (a rename whose answer did come took it out).
    if (userId !== '') await this.#index(redis, userId, oldId, Number(absoluteExpiresAt))
    if (typeof newUserId === 'string' && newUserId !== '') await this.#bestEffort(redis.zRem(this.#userKey(newUserId), [newId]))
    return live === 1
  }

  #retryUndo(attempt: () => Promise<boolean>, until: number, delayMs: number): void {
    if (Date.now() + delayMs >= until) return
    const timer = setTimeout(() => {
      attempt().catch(() => this.#retryUndo(attempt, until, Math.min(delayMs * 2, UNDO_RETRY_MAX_MS)))
    }, delayMs)
    ;(timer as { unref?: () => void }).unref?.()
  }

  destroy(id: string): Promise<boolean> {
    return this.#run('destroy', async (redis) => {
      const userId = (await this.#script(redis, destroySession, [this.#sessionKey(id), this.#retiredKey(id)], [wholeMs(Date.now())])) as string | null
      if (userId === null || userId === undefined) return false
      if (userId !== '') await this.#bestEffort(redis.zRem(this.#userKey(userId), [id]))
      return true
    })
  }

  listByUser(userId: string): Promise<StoredSession[]> {
    return this.#run('listByUser', async (redis) => {
      const ids = await this.#members(redis, userId)
      const now = Date.now()
      // One HGETALL per member, all sent without waiting for a reply (pipelined; on a Cluster, per node).
      const records = await Promise.all(ids.map(async (id) => toRecord(await redis.hGetAll(this.#sessionKey(id)))))
      const sessions: StoredSession[] = []
      ids.forEach((id, i) => {
        const record = records[i]
        // A member can outlive its session (idle expiry) or its binding; the hash is the truth.
        if (record && record.userId === userId && record.expiresAt > now) sessions.push({ id, record })
      })
      return sessions
    })
  }

  destroyByUser(userId: string, exceptId?: string): Promise<string[]> {
    return this.#run('destroyByUser', async (redis) => {
      const ids = (await this.#members(redis, userId)).filter((id) => id !== exceptId)
      const now = wholeMs(Date.now())
      const outcomes = await Promise.all(ids.map((id) => this.#script(redis, destroyIfBoundTo, [this.#sessionKey(id), this.#retiredKey(id)], [userId, now])))
      const removed = ids.filter((_, i) => outcomes[i] === 1)
      if (removed.length > 0) await this.#bestEffort(redis.zRem(this.#userKey(userId), removed))
      return removed
    })
  }

  /** Listeners get `{ type: 'expired', id, record }` for each dead session a get() found and deleted. */
  subscribe(listener: StoreListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  async #index(redis: ScopedCommands, userId: string, id: string, absoluteExpiresAt: EpochMs): Promise<void> {
    await this.#script(redis, indexAdd, this.#userKey(userId), [wholeMs(Date.now()), wholeMs(absoluteExpiresAt), id])
  }

  async #members(redis: ScopedCommands, userId: string): Promise<string[]> {
    return ((await this.#script(redis, indexMembers, this.#userKey(userId), [wholeMs(Date.now())])) as string[]) ?? []
  }
}

export function redisStore(options: RedisStoreOptions): RedisStore {
  return new RedisStore(options)
}
