// The one small client interface the store talks through (redis-store.ts), and how `redisStore`
// picks the implementation for the client it was given: node-redis (node-redis-client.ts) or ioredis
// (ioredis-client.ts). The store's logic and its Lua scripts (scripts.ts) are the same for all of
// them; only how a command is sent, and how a command that missed its deadline is kept from reaching
// Redis, differ per client.

import { SessionConfigError } from '@sesame/core'
import { IoRedisStoreClient, isIoRedis, type IoRedisClient } from './ioredis-client.js'
import { isNodeRedis, NodeRedisStoreClient, type NodeRedisClient } from './node-redis-client.js'

export type { IoRedisClient, NodeRedisClient }

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
