// The one small client interface the store talks through, and its two implementations: node-redis
// (`createClient`, `createCluster`, `createSentinel`) and ioredis (`new Redis()`, `new Cluster()`).
// The store's logic (redis-store.ts) and its Lua scripts (scripts.ts) are the same for all of them;
// only how a command is sent, and how a command that missed its deadline is kept from reaching Redis,
// differ per client.

import type { RedisClientType, RedisClusterType, RedisSentinelType } from 'redis'
import { SessionConfigError } from '@sesame/core'

/** A connected node-redis (v5 or v6) client, cluster or sentinel, owned by the app. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NodeRedisClient = RedisClientType<any, any, any, any, any> | RedisClusterType<any, any, any, any, any> | RedisSentinelType<any, any, any, any, any>

/**
 * The part of an ioredis (v5 or v6) `Redis` or `Cluster` the store uses, written out here so that
 * @sesame/redis needs no ioredis types (it is an optional peer).
 */
export interface IoRedisClient {
  readonly status: string
  readonly isCluster: boolean
  evalsha(sha: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>
  eval(script: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>
  hgetall(key: string): Promise<Record<string, string>>
  hget(key: string, field: string): Promise<string | null>
  zrem(key: string, ...members: string[]): Promise<number>
  on(event: 'ready', listener: () => void): unknown
}

/** The few commands the store uses, in node-redis' shapes (the ioredis adapter translates). */
export interface ScopedCommands {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
  hGetAll(key: string): Promise<unknown>
  hGet(key: string, field: string): Promise<unknown>
  zRem(key: string, members: string[]): Promise<unknown>
}

/** The commands of one store call. After `expire()` (the call's deadline passed, or it settled) nothing more reaches Redis. */
export interface CallCommands extends ScopedCommands {
  expire(): void
}

/** A client as the store sees it: a source of commands for one store call. */
export interface StoreClient {
  readonly kind: 'node-redis' | 'ioredis'
  /** True for a Redis Cluster client (either library). */
  readonly isCluster: boolean
  call(): CallCommands
  /**
   * Commands that go out whenever the client can send them, even long past a call's deadline (from the
   * client's offline queue after a reconnect): for undoRename, whose point is to land after a rename
   * that may itself land late.
   */
  readonly delivered: ScopedCommands
}

const PAST_DEADLINE = 'the store call passed its deadline'

// ---------------------------------------------------------------------------------------------------
// node-redis

interface NodeRedisScoping {
  withCommandOptions(options: { abortSignal?: AbortSignal; typeMapping: Record<never, never>; timeout?: number }): ScopedCommands
  /**
   * node-redis client and sentinel: connected and usable. A cluster client has none in node-redis 5;
   * node-redis 6 has one that only says the slots were discovered (true while a master is down).
   */
  readonly isReady?: boolean
  /** Cluster clients only (node-redis 5 and 6). */
  readonly nodeClient?: unknown
}

function isNodeRedis(client: unknown): client is NodeRedisScoping {
  return typeof (client as NodeRedisScoping | null)?.withCommandOptions === 'function'
}

/**
 * One store call on node-redis. A command sent while the client is connected goes straight out; one
 * sent while it is not waits in node-redis' offline queue, so it carries an abort signal that the
 * deadline fires, which withdraws it. (An abort signal on every command would cost about half the
 * throughput of a single client.) Each such command gets a signal of its own: node-redis adds one
 * 'abort' listener per queued command, and a signal shared by more than ten of them (listByUser and
 * destroyByUser pipeline one command per session) trips Node's MaxListenersExceededWarning. A cluster
 * client has no readiness flag of the node a command goes to (node-redis 6's `isReady` is true while a
 * master is down, and that master's commands wait for its reconnect), so there every command takes
 * this path.
 */
class NodeRedisCall implements CallCommands {
  #aborts: AbortController[] | undefined
  #expired = false

  readonly #client: NodeRedisScoping
  readonly #connected: ScopedCommands
  readonly #isCluster: boolean

  constructor(client: NodeRedisScoping, connected: ScopedCommands, isCluster: boolean) {
    this.#client = client
    this.#connected = connected
    this.#isCluster = isCluster
  }

  #view(): ScopedCommands {
    // Past the deadline the caller has its answer; nothing more of this call may reach Redis.
    if (this.#expired) throw new Error(PAST_DEADLINE)
    if (!this.#isCluster && this.#client.isReady === true) return this.#connected
    const abort = new AbortController()
    ;(this.#aborts ??= []).push(abort)
    return this.#client.withCommandOptions({ abortSignal: abort.signal, typeMapping: {}, timeout: 0 })
  }

  expire(): void {
    this.#expired = true
    if (this.#aborts) for (const abort of this.#aborts) abort.abort()
  }

  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown> {
    return this.#view().evalSha(sha, options)
  }

  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown> {
    return this.#view().eval(script, options)
  }

  hGetAll(key: string): Promise<unknown> {
    return this.#view().hGetAll(key)
  }

  hGet(key: string, field: string): Promise<unknown> {
    return this.#view().hGet(key, field)
  }

  zRem(key: string, members: string[]): Promise<unknown> {
    return this.#view().zRem(key, members)
  }
}

class NodeRedisStoreClient implements StoreClient {
  readonly kind = 'node-redis'
  readonly isCluster: boolean
  readonly #client: NodeRedisScoping
  /** The client as-is (plain strings whatever the app's typeMapping), for commands sent while connected. */
  readonly #connected: ScopedCommands
  readonly delivered: ScopedCommands

  constructor(client: NodeRedisScoping) {
    this.#client = client
    this.isCluster = typeof client.nodeClient === 'function'
    // timeout 0: no node-redis per-command timer (node-redis 6 arms a 5 s AbortSignal.timeout for every
    // command by default, which costs more CPU than the rest of the call); the store's own deadline
    // (commandTimeout, one sweep for all calls) bounds every call instead.
    this.#connected = client.withCommandOptions({ typeMapping: {}, timeout: 0 })
    // No abort signal: node-redis' offline queue keeps these until it has reconnected.
    this.delivered = this.#connected
  }

  call(): CallCommands {
    return new NodeRedisCall(this.#client, this.#connected, this.isCluster)
  }
}

// ---------------------------------------------------------------------------------------------------
// ioredis

function isIoRedis(client: unknown): client is IoRedisClient {
  const candidate = client as Partial<IoRedisClient> | null
  return typeof candidate?.evalsha === 'function' && typeof candidate.hgetall === 'function' && typeof candidate.isCluster === 'boolean'
}

/**
 * Commands of store calls waiting for an ioredis client to be ready again. ioredis has no way to take
 * a command back once handed to it (its offline queue sends everything on reconnect), so while the
 * client is not ready the store holds its commands here instead, and drops those whose call expired:
 * a write the app was told failed does not quietly apply when Redis returns.
 */
class ReadyGate {
  readonly #client: IoRedisClient
  readonly #waiting = new Set<() => void>()
  #listening = false

  constructor(client: IoRedisClient) {
    this.#client = client
  }

  /** quit() or disconnect() without reconnecting: nothing will ever be sent. */
  get closed(): boolean {
    return this.#client.status === 'end'
  }

  /** Whether a command can be handed to ioredis now. 'wait' is a lazyConnect client: its first command connects it. */
  get open(): boolean {
    const status = this.#client.status
    return status === 'ready' || status === 'wait'
  }

  /** Resolves when the client is ready; `withdraw` (the call expired) drops the waiter. */
  wait(): { ready: Promise<void>; withdraw: () => void } {
    if (!this.#listening) {
      this.#listening = true
      // One listener for the store's lifetime, however many calls wait.
      this.#client.on('ready', () => {
        const waiting = [...this.#waiting]
        this.#waiting.clear()
        for (const resume of waiting) resume()
      })
    }
    let resume!: () => void
    const ready = new Promise<void>((resolve) => {
      resume = resolve
    })
    this.#waiting.add(resume)
    return { ready, withdraw: () => void this.#waiting.delete(resume) }
  }
}

class IoRedisCall implements CallCommands {
  #expired = false
  #withdrawals: Array<() => void> | undefined

  readonly #commands: ScopedCommands
  readonly #gate: ReadyGate

  constructor(commands: ScopedCommands, gate: ReadyGate) {
    this.#commands = commands
    this.#gate = gate
  }

  /** Sends at once while the client is usable, else once it is ready again, unless the call expired by then. */
  #send<T>(command: () => Promise<T>): Promise<T> {
    if (this.#expired) return Promise.reject(new Error(PAST_DEADLINE))
    if (this.#gate.closed) return Promise.reject(new Error('the ioredis client is closed (quit or disconnect)'))
    if (this.#gate.open) return command()
    const { ready, withdraw } = this.#gate.wait()
    ;(this.#withdrawals ??= []).push(withdraw)
    return ready.then(() => {
      if (this.#expired) throw new Error(PAST_DEADLINE)
      return command()
    })
  }

  expire(): void {
    this.#expired = true
    if (this.#withdrawals) for (const withdraw of this.#withdrawals) withdraw()
  }

  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown> {
    return this.#send(() => this.#commands.evalSha(sha, options))
  }

  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown> {
    return this.#send(() => this.#commands.eval(script, options))
  }

  hGetAll(key: string): Promise<unknown> {
    return this.#send(() => this.#commands.hGetAll(key))
  }

  hGet(key: string, field: string): Promise<unknown> {
    return this.#send(() => this.#commands.hGet(key, field))
  }

  zRem(key: string, members: string[]): Promise<unknown> {
    return this.#send(() => this.#commands.zRem(key, members))
  }
}

/** ioredis' commands in node-redis' shapes, handed to ioredis at once (its offline queue sends them on reconnect). */
class IoRedisCommands implements ScopedCommands {
  readonly #client: IoRedisClient

  constructor(client: IoRedisClient) {
    this.#client = client
  }

  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown> {
    return this.#client.evalsha(sha, options.keys.length, ...options.keys, ...options.arguments)
  }

  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown> {
    return this.#client.eval(script, options.keys.length, ...options.keys, ...options.arguments)
  }

  hGetAll(key: string): Promise<unknown> {
    return this.#client.hgetall(key)
  }

  hGet(key: string, field: string): Promise<unknown> {
    return this.#client.hget(key, field)
  }

  zRem(key: string, members: string[]): Promise<unknown> {
    return this.#client.zrem(key, ...members)
  }
}

class IoRedisStoreClient implements StoreClient {
  readonly kind = 'ioredis'
  readonly isCluster: boolean
  readonly delivered: ScopedCommands
  readonly #commands: IoRedisCommands
  readonly #gate: ReadyGate

  constructor(client: IoRedisClient) {
    this.isCluster = client.isCluster
    this.#commands = new IoRedisCommands(client)
    this.delivered = this.#commands
    this.#gate = new ReadyGate(client)
  }

  call(): CallCommands {
    return new IoRedisCall(this.#commands, this.#gate)
  }
}

// ---------------------------------------------------------------------------------------------------

/** The store's view of a node-redis client, cluster or sentinel (what `redisStore` does when it detects one). */
export function nodeRedisClient(client: NodeRedisClient): StoreClient {
  if (!isNodeRedis(client)) throw new SessionConfigError('nodeRedisClient needs a node-redis v5/v6 client, cluster or sentinel (`createClient()`, `createCluster()`, `createSentinel()`).')
  return new NodeRedisStoreClient(client)
}

/** The store's view of an ioredis `Redis` or `Cluster` (what `redisStore` does when it detects one). */
export function ioredisClient(client: IoRedisClient): StoreClient {
  if (!isIoRedis(client)) throw new SessionConfigError('ioredisClient needs an ioredis v5/v6 `Redis` or `Cluster` instance.')
  return new IoRedisStoreClient(client)
}

function isStoreClient(client: unknown): client is StoreClient {
  const candidate = client as Partial<StoreClient> | null
  return typeof candidate?.call === 'function' && (candidate.kind === 'node-redis' || candidate.kind === 'ioredis')
}

/** Whichever client the app passed: a node-redis or ioredis client, or an adapter made by the functions above. */
export function storeClientOf(client: unknown): StoreClient {
  if (isStoreClient(client)) return client
  if (isNodeRedis(client)) return new NodeRedisStoreClient(client)
  if (isIoRedis(client)) return new IoRedisStoreClient(client)
  throw new SessionConfigError(
    'redisStore needs `client`: a connected node-redis v5/v6 client or cluster (`await createClient({ url }).connect()`, `createCluster()`), or an ioredis `Redis` or `Cluster`.',
  )
}
