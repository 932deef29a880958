// The four ways an app hands @sesame/redis its Redis, for suites that run against each of them:
// node-redis and ioredis, each on a single server (the global setup's Redis) and on a Redis Cluster
// (SESAME_TEST_REDIS_CLUSTER, three masters the global setup starts). Each connection also lists and
// deletes the keys under a prefix (SCAN on every master; fine in a test, the store itself never scans).
import { Cluster, Redis } from 'ioredis'
import { Cluster as Cluster5, Redis as Redis5 } from 'ioredis5'
import { createClient, createCluster } from 'redis'
import { createCluster as createCluster6 } from 'redis6'
import type { RedisStoreClient } from '@sesame/redis'
import { hasRedis, hasRedisCluster, redisClusterSeeds, redisUrl } from '../../../../test/support/redis.js'
import { parseSeeds } from '../../../../test/support/redis-cluster.js'

export type FlavourName = 'node-redis' | 'ioredis' | 'node-redis cluster' | 'ioredis cluster'

export interface Connection {
  /** The library's own client, as an app would pass it to redisStore({ client }). */
  readonly client: RedisStoreClient
  keysUnder(prefix: string): Promise<string[]>
  /** Every key under `prefix` and the text of everything it holds (hash fields and values, set members). */
  storedText(prefix: string): Promise<string[]>
  deleteUnder(prefix: string): Promise<void>
  close(): Promise<void>
}

export interface Flavour {
  readonly name: FlavourName
  /** False when the global setup found no Redis (single) or no Cluster: the suite is skipped. */
  readonly available: boolean
  readonly cluster: boolean
  connect(): Promise<Connection>
}

async function scanIoRedis(node: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    keys.push(...batch)
    cursor = next
  } while (cursor !== '0')
  return keys
}

/** The text a key holds, whatever its type (the store writes hashes and sorted sets). */
async function textOf(key: string, read: { type(key: string): Promise<string>; hash(key: string): Promise<Record<string, string>>; zset(key: string): Promise<string[]> }): Promise<string> {
  const type = await read.type(key)
  const content = type === 'hash' ? Object.entries(await read.hash(key)).flat() : type === 'zset' ? await read.zset(key) : [`(${type})`]
  return [key, ...content].join(' ')
}

function nodeRedisReader(client: ReturnType<typeof createClient> | ReturnType<typeof createCluster>) {
  return {
    type: (key: string) => client.type(key) as Promise<string>,
    hash: (key: string) => client.hGetAll(key) as Promise<Record<string, string>>,
    zset: (key: string) => client.zRangeWithScores(key, 0, -1).then((entries) => entries.flatMap((e) => [e.value, String(e.score)])),
  }
}

function ioredisReader(client: Redis | Cluster) {
  return {
    type: (key: string) => client.type(key),
    hash: (key: string) => client.hgetall(key),
    zset: (key: string) => client.zrange(key, 0, -1, 'WITHSCORES'),
  }
}

async function nodeRedisSingle(url = redisUrl): Promise<Connection> {
  const client = createClient({ url })
  // Without an 'error' listener node-redis re-emits connection errors as uncaught exceptions.
  client.on('error', () => {})
  await client.connect()
  const keysUnder = async (prefix: string) => {
    const keys: string[] = []
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys.push(...batch)
    return keys
  }
  return {
    client,
    keysUnder,
    storedText: async (prefix) => Promise.all((await keysUnder(prefix)).map((key) => textOf(key, nodeRedisReader(client)))),
    deleteUnder: async (prefix) => {
      const keys = await keysUnder(prefix)
      if (keys.length > 0) await client.del(keys)
    },
    close: async () => client.destroy(),
  }
}

/**
 * node-redis 5's createCluster (node-redis 6's with `version: 6`, the `redis6` alias of the tests).
 * `reconnectMs`: a fixed pause between reconnect attempts of each node's client.
 */
export async function connectNodeRedisCluster(
  seeds = redisClusterSeeds,
  options: { version?: 5 | 6; reconnectMs?: number } = {},
): Promise<Connection & { client: ReturnType<typeof createCluster> }> {
  const create = (options.version === 6 ? createCluster6 : createCluster) as typeof createCluster
  const socket = options.reconnectMs === undefined ? {} : { socket: { reconnectStrategy: () => options.reconnectMs! } }
  const cluster = create({ rootNodes: parseSeeds(seeds).map(({ host, port }) => ({ url: `redis://${host}:${port}` })), defaults: socket })
  cluster.on('error', () => {})
  await cluster.connect()
  const keysUnder = async (prefix: string) => {
    const keys: string[] = []
    for (const master of cluster.masters) {
      const node = await cluster.nodeClient(master)
      for await (const batch of node.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys.push(...batch)
    }
    return keys
  }
  return {
    client: cluster,
    keysUnder,
    storedText: async (prefix) => Promise.all((await keysUnder(prefix)).map((key) => textOf(key, nodeRedisReader(cluster)))),
    // One DEL per key: keys of different slots cannot share a command on a Cluster.
    deleteUnder: async (prefix) => void (await Promise.all((await keysUnder(prefix)).map((key) => cluster.del(key)))),
    close: async () => cluster.destroy(),
  }
}

/** ioredis 6 (ioredis 5 with `version: 5`, the `ioredis5` alias of the tests). */
export async function connectIoRedis(url = redisUrl, options: { version?: 5 | 6 } = {}): Promise<Connection> {
  const client = options.version === 5 ? (new Redis5(url) as unknown as Redis) : new Redis(url)
  client.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve)
    client.once('end', () => reject(new Error(`ioredis could not connect to ${url}`)))
  })
  return {
    client,
    keysUnder: (prefix) => scanIoRedis(client, prefix),
    storedText: async (prefix) => Promise.all((await scanIoRedis(client, prefix)).map((key) => textOf(key, ioredisReader(client)))),
    deleteUnder: async (prefix) => {
      const keys = await scanIoRedis(client, prefix)
      if (keys.length > 0) await client.del(...keys)
    },
    close: async () => client.disconnect(),
  }
}

/** ioredis 6's Cluster (ioredis 5's with `version: 5`). */
export async function connectIoRedisCluster(seeds = redisClusterSeeds, options: { version?: 5 | 6 } = {}): Promise<Connection & { client: Cluster }> {
  const cluster = options.version === 5 ? (new Cluster5(parseSeeds(seeds)) as unknown as Cluster) : new Cluster(parseSeeds(seeds))
  cluster.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    cluster.once('ready', resolve)
    cluster.once('end', () => reject(new Error(`ioredis Cluster could not connect to ${seeds}`)))
  })
  const keysUnder = async (prefix: string) => (await Promise.all(cluster.nodes('master').map((node) => scanIoRedis(node, prefix)))).flat()
  return {
    client: cluster,
    keysUnder,
    storedText: async (prefix) => Promise.all((await keysUnder(prefix)).map((key) => textOf(key, ioredisReader(cluster)))),
    deleteUnder: async (prefix) => void (await Promise.all((await keysUnder(prefix)).map((key) => cluster.del(key)))),
    close: async () => cluster.disconnect(),
  }
}

export const flavours: readonly Flavour[] = [
  { name: 'node-redis', available: hasRedis, cluster: false, connect: () => nodeRedisSingle() },
  { name: 'ioredis', available: hasRedis, cluster: false, connect: () => connectIoRedis() },
  { name: 'node-redis cluster', available: hasRedisCluster, cluster: true, connect: () => connectNodeRedisCluster() },
  { name: 'ioredis cluster', available: hasRedisCluster, cluster: true, connect: () => connectIoRedisCluster() },
]

/** The older majors the peer range names, for the contract: ioredis 5 (BullMQ's) on both set-ups. */
export const olderMajors: readonly Flavour[] = [
  { name: 'ioredis', available: hasRedis, cluster: false, connect: () => connectIoRedis(redisUrl, { version: 5 }) },
  { name: 'ioredis cluster', available: hasRedisCluster, cluster: true, connect: () => connectIoRedisCluster(redisClusterSeeds, { version: 5 }) },
]
