export { redisStore, RedisStore, type RedisStoreOptions, type RedisStoreClient } from './redis-store.js'
export { failoverStore, FailoverStore, type FailoverStoreOptions, type FailoverEvent } from './failover-store.js'
export { ioredisClient, nodeRedisClient, type IoRedisClient, type NodeRedisClient, type StoreClient } from './client.js'
export { SessionInDoubt } from './session-in-doubt.js'
