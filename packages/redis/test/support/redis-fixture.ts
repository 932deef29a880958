// Real Redis for the tests: a connected client and a key prefix no other test file uses.
import { randomUUID } from 'node:crypto'
import { createClient } from 'redis'
import { redisUrl } from '../../../../test/support/redis.js'

export type TestClient = ReturnType<typeof createClient>

export async function connectClient(url = redisUrl): Promise<TestClient> {
  const client = createClient({ url })
  // Without an 'error' listener node-redis re-emits connection errors as uncaught exceptions.
  client.on('error', () => {})
  await client.connect()
  return client
}

export function uniquePrefix(label: string): string {
  return `sesame-test:${label}:${randomUUID().slice(0, 8)}:`
}

/** Every key under `prefix` (SCAN is fine in a test; the store itself never scans). */
export async function keysUnder(client: TestClient, prefix: string): Promise<string[]> {
  const keys: string[] = []
  for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys.push(...batch)
  return keys
}

export async function deleteUnder(client: TestClient, prefix: string): Promise<void> {
  const keys = await keysUnder(client, prefix)
  if (keys.length > 0) await client.del(keys)
}
