// The store for more than one process: sessions in Redis, through the application's own client
// (node-redis or ioredis, single server or Cluster: client.ts). Every mutation is one Lua script on one key (see scripts.ts), so it is atomic and runs on a
// Redis Cluster too; every call is bounded by `commandTimeout` and fails as SessionStoreUnavailable,
// so an outage answers 503 quickly instead of hanging requests or logging users out.

import { parseDuration, SessionConfigError, SessionStoreUnavailable } from '@sesame/core'
import type { EpochMs, SessionRecord, SessionStore, SessionUpdate, StoredSession } from '@sesame/core'
import { storeClientOf, type IoRedisClient, type NodeRedisClient, type ScopedCommands, type StoreClient } from './client.js'
import {
  createIfAbsent,
  destroyIfBoundTo,
  destroySession,
  indexAdd,
  indexMembers,
  touchIfExists,
  updateIfExists,
  type LuaScript,
} from './scripts.js'

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
}

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
  readonly #prefix: string
  readonly #timeoutMs: number

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
    this.#client = client
    this.#prefix = prefix
    this.#timeoutMs = timeoutMs
  }

  // The braces are a hash tag: everything of one session hashes to one Cluster slot.
  #sessionKey(id: string): string {
    return `${this.#prefix}s:{${id}}`
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
   * waiting for a connection (node-redis' offline queue, or client.ts' own wait for ioredis) are withdrawn: without that they would run after a reconnect,
   * writing what the caller was told had failed. Deadlines are checked by one shared, unref'd sweep
   * every commandTimeout / 10 (at least 10 ms), so a call fails at most that much after its deadline;
   * a timer and a Promise.race per call cost more than the rest of the store's own work.
   */
  #run<T>(operation: string, work: (redis: ScopedCommands) => Promise<T>): Promise<T> {
    const commands = this.#client.call()
    return new Promise<T>((resolve, reject) => {
      let settled = false
      const call = {
        deadline: Date.now() + this.#timeoutMs,
        fail: () => {
          if (settled) return
          settled = true
          commands.expire()
          reject(new SessionStoreUnavailable(operation, { cause: new Error(`Redis did not answer within ${this.#timeoutMs} ms`) }))
        },
      }
      this.#inflight.add(call)
      if (!this.#sweeper) {
        this.#sweeper = setInterval(() => this.#sweep(), Math.max(10, Math.floor(this.#timeoutMs / 10)))
        ;(this.#sweeper as { unref?: () => void }).unref?.()
      }
      let attempt: Promise<T>
      try {
        attempt = work(commands)
      } catch (error) {
        attempt = Promise.reject(error)
      }
      attempt.then(
        (value) => {
          this.#inflight.delete(call)
          if (settled) return
          settled = true
          commands.expire()
          resolve(value)
        },
        (error: unknown) => {
          this.#inflight.delete(call)
          if (settled) return
          settled = true
          commands.expire()
          reject(error instanceof SessionStoreUnavailable ? error : new SessionStoreUnavailable(operation, { cause: error }))
        },
      )
    })
  }

  #script(redis: ScopedCommands, script: LuaScript, key: string, args: string[]): Promise<unknown> {
    const call = { keys: [key], arguments: args }
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

  get(id: string): Promise<SessionRecord | undefined> {
    return this.#run('get', (redis) =>
      redis.hGetAll(this.#sessionKey(id)).then((reply) => {
        const record = toRecord(reply)
        // Redis expires the key itself; this covers the last milliseconds and clock skew between hosts.
        return record && record.expiresAt > Date.now() ? record : undefined
      }),
    )
  }

  create(id: string, record: SessionRecord): Promise<boolean> {
    return this.#run('create', async (redis) => {
      const expiresAt = Math.min(record.expiresAt, record.absoluteExpiresAt)
      const fields = [
        META.createdAt, wholeMs(record.createdAt),
        META.lastActiveAt, wholeMs(record.lastActiveAt),
        META.expiresAt, wholeMs(expiresAt),
        META.absoluteExpiresAt, wholeMs(record.absoluteExpiresAt),
      ]
      if (record.userId !== undefined) fields.push(META.userId, record.userId)
      if (record.ip !== undefined) fields.push(META.ip, record.ip)
      if (record.userAgent !== undefined) fields.push(META.userAgent, record.userAgent)
      for (const key in record.data) fields.push(DATA + key, record.data[key]!)
      // Index first: a bound session must never exist outside its user's index, or revoking the
      // user's sessions would miss it. A failed create leaves a member that readers skip.
      if (record.userId !== undefined) await this.#index(redis, record.userId, id, record.absoluteExpiresAt)
      return (await this.#script(redis, createIfAbsent, this.#sessionKey(id), [wholeMs(expiresAt), ...fields])) === 1
    })
  }

  update(id: string, update: SessionUpdate): Promise<boolean> {
    return this.#run('update', (redis) => {
      const key = this.#sessionKey(id)
      // The common case (no user change) is one script and nothing else.
      if (update.userId === undefined) return this.#script(redis, updateIfExists, key, this.#updateArgs(update, 'keep')).then((reply) => reply !== null && reply !== undefined)
      return this.#rebindingUpdate(redis, id, key, update)
    })
  }

  #updateArgs(update: SessionUpdate, mode: 'keep' | 'bind' | 'unbind'): string[] {
    const setKeys = Object.keys(update.set)
    const args = [wholeMs(update.lastActiveAt), wholeMs(update.expiresAt), mode, update.userId ?? '', String(setKeys.length)]
    for (const name of setKeys) args.push(DATA + name, update.set[name]!)
    for (const name of update.unset) args.push(DATA + name)
    return args
  }

  async #rebindingUpdate(redis: ScopedCommands, id: string, key: string, update: SessionUpdate): Promise<boolean> {
    if (typeof update.userId === 'string') {
      // Binding a user: index first (as in create), which needs the session's absolute deadline.
      const absolute = await redis.hGet(key, META.absoluteExpiresAt)
      if (absolute === null || absolute === undefined) return false
      await this.#index(redis, update.userId, id, Number(absolute))
    }
    const mode = update.userId === null ? 'unbind' : 'bind'
    const reply = (await this.#script(redis, updateIfExists, key, this.#updateArgs(update, mode))) as [number, string] | null
    if (!reply) return false
    const previousUserId = reply[1]
    if (previousUserId !== '' && previousUserId !== update.userId) {
      await this.#bestEffort(redis.zRem(this.#userKey(previousUserId), [id]))
    }
    return true
  }

  touch(id: string, lastActiveAt: EpochMs, expiresAt: EpochMs): Promise<boolean> {
    return this.#run('touch', async (redis) => {
      return (await this.#script(redis, touchIfExists, this.#sessionKey(id), [wholeMs(lastActiveAt), wholeMs(expiresAt)])) === 1
    })
  }

  destroy(id: string): Promise<boolean> {
    return this.#run('destroy', async (redis) => {
      const userId = (await this.#script(redis, destroySession, this.#sessionKey(id), [])) as string | null
      if (userId === null) return false
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
      const outcomes = await Promise.all(ids.map((id) => this.#script(redis, destroyIfBoundTo, this.#sessionKey(id), [userId])))
      const removed = ids.filter((_, i) => outcomes[i] === 1)
      if (removed.length > 0) await this.#bestEffort(redis.zRem(this.#userKey(userId), removed))
      return removed
    })
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
