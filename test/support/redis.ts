// For suites that need Redis: the URL the global setup found ('' when none, and then skip).
export const redisUrl: string = process.env.SESAME_TEST_REDIS_URL ?? ''
export const hasRedis = redisUrl !== ''
// For suites that need a Redis Cluster: `host:port,...` of its masters ('' when none, and then skip).
export const redisClusterSeeds: string = process.env.SESAME_TEST_REDIS_CLUSTER ?? ''
export const hasRedisCluster = redisClusterSeeds !== ''
