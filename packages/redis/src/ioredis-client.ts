// The store's client interface (client.ts) on ioredis: `new Redis()` (also with `sentinels`) and
// `new Cluster()`, v5 and v6.

import type { CallCommands, ScopedCommands, StoreClient } from './client.js'

const PAST_DEADLINE = 'the store call passed its deadline'

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

export function isIoRedis(client: unknown): client is IoRedisClient {
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

export class IoRedisStoreClient implements StoreClient {
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
