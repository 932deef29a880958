// For suites that need Redis: the URL the global setup found ('' when none, and then skip).
export const redisUrl: string = process.env.SESAME_TEST_REDIS_URL ?? ''
export const hasRedis = redisUrl !== ''
