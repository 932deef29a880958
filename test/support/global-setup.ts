// Runs once before all tests: find a Redis for the suites that need one.
// REDIS_URL, else 127.0.0.1:6379, else a redis-server we start on a free port, else the Redis suites
// are skipped with a loud message (under CI=true a missing Redis fails the run instead).
// And a Redis Cluster: SESAME_TEST_REDIS_CLUSTER (host:port,...) when set, else three masters we
// start on free ports (redis-cluster.ts), else the Cluster suites are skipped loudly (CI=true: fail).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import { freePort } from './ports.js'
import { clusterToolsAvailable, startRedisCluster, type RedisCluster } from './redis-cluster.js'

function ping(url: string, timeoutMs = 1500): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 6379) })
    const done = (ok: boolean) => { socket.destroy(); resolve(ok) }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.on('error', () => done(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => done(chunk.toString().startsWith('+PONG')))
  })
}


let started: ChildProcess | undefined
let cluster: RedisCluster | undefined

function skipLoudly(message: string, what: string, fix: string): void {
  if (process.env.CI === 'true') throw new Error(`${message}; CI=true requires ${what}.`)
  console.warn(`\n${'!'.repeat(78)}\n!! ${message}.\n!! SKIPPING every ${what} suite. ${fix}\n${'!'.repeat(78)}\n`)
}

async function setupCluster(): Promise<void> {
  if (process.env.SESAME_TEST_REDIS_CLUSTER) return
  if (!clusterToolsAvailable()) {
    process.env.SESAME_TEST_REDIS_CLUSTER = ''
    skipLoudly('redis-server and redis-cli are needed for a Redis Cluster and are not on PATH', 'Redis Cluster', 'Install redis-server (it brings redis-cli) or set SESAME_TEST_REDIS_CLUSTER=host:port,...')
    return
  }
  cluster = await startRedisCluster({ masters: 3 })
  process.env.SESAME_TEST_REDIS_CLUSTER = cluster.seeds
}

export async function setup(): Promise<void> {
  await Promise.all([setupCluster(), setupSingle()])
}

async function setupSingle(): Promise<void> {
  const candidates = [process.env.REDIS_URL, 'redis://127.0.0.1:6379'].filter(Boolean) as string[]
  for (const url of candidates) {
    if (await ping(url)) {
      process.env.SESAME_TEST_REDIS_URL = url
      return
    }
  }
  const onPath = spawnSync('sh', ['-c', 'command -v redis-server']).status === 0
  if (onPath) {
    const port = await freePort()
    started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    const url = `redis://127.0.0.1:${port}`
    for (let i = 0; i < 50; i++) {
      if (await ping(url, 200)) {
        process.env.SESAME_TEST_REDIS_URL = url
        return
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  process.env.SESAME_TEST_REDIS_URL = ''
  skipLoudly('Redis is not reachable (REDIS_URL, 127.0.0.1:6379) and no redis-server could be started', 'Redis', 'Install redis-server or set REDIS_URL to run them.')
}

export async function teardown(): Promise<void> {
  started?.kill()
  await cluster?.stop()
}
