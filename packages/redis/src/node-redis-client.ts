// The store's client interface (client.ts) on node-redis: `createClient()`, `createCluster()` and
// `createSentinel()`, v5 and v6.

import type { RedisClientType, RedisClusterType, RedisSentinelType } from 'redis'
import type { CallCommands, ScopedCommands, StoreClient } from './client.js'

const PAST_DEADLINE = 'the store call passed its deadline'
/** Pause before a script refused with TRYAGAIN is sent again (ioredis' retryDelayOnTryAgain is 100 ms). */
const TRY_AGAIN_MS = 20
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A connected node-redis (v5 or v6) client, cluster or sentinel, owned by the app. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NodeRedisClient = RedisClientType<any, any, any, any, any> | RedisClusterType<any, any, any, any, any> | RedisSentinelType<any, any, any, any, any>

export interface NodeRedisScoping {
  withCommandOptions(options: { abortSignal?: AbortSignal; typeMapping: Record<never, never>; timeout?: number }): ScopedCommands
  /**
   * node-redis client and sentinel: connected and usable. A cluster client has none in node-redis 5;
   * node-redis 6 has one that only says the slots were discovered (true while a master is down).
   */
  readonly isReady?: boolean
  /** Cluster clients only (node-redis 5 and 6). */
  readonly nodeClient?: unknown
}

export function isNodeRedis(client: unknown): client is NodeRedisScoping {
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

  /**
   * A script on two keys of one hash tag (a session and its retired copy) in a slot that is being
   * migrated gets TRYAGAIN from Redis Cluster while one key has moved and the other has not (or does
   * not exist): nothing ran, and it will succeed once the slot's keys have moved. ioredis sends it again
   * on its own (retryDelayOnTryAgain); node-redis does not, so this does, until the call's deadline.
   */
  async #script(send: (commands: ScopedCommands) => Promise<unknown>): Promise<unknown> {
    for (;;) {
      try {
        return await send(this.#view())
      } catch (error) {
        if (!this.#isCluster || !String((error as Error)?.message).startsWith('TRYAGAIN')) throw error
        await sleep(TRY_AGAIN_MS)
      }
    }
  }

  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown> {
    return this.#script((commands) => commands.evalSha(sha, options))
  }

  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown> {
    return this.#script((commands) => commands.eval(script, options))
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

export class NodeRedisStoreClient implements StoreClient {
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
