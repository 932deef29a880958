// A real Redis Cluster for tests: N masters (no replicas), each a redis-server of ours on free loopback
// ports in a temp directory, joined by `redis-cli --cluster create`. Stopped by PID (SIGKILL), also when
// the test process exits without stopping it. The shared Redis on 6379 is never touched.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './ports.js'
import { command } from './resp.js'

const run = promisify(execFile)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Whether redis-server and redis-cli are on PATH (both are needed to build a cluster). */
export function clusterToolsAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v redis-server && command -v redis-cli'], { stdio: 'ignore' }).status === 0
}

export interface ClusterNode {
  readonly port: number
  /** The running server's PID (undefined while killed). */
  readonly pid: number | undefined
  /** SIGKILL: gone at once, connections drop, nothing is flushed that was not already on disk. */
  kill(): Promise<void>
  /** Start again on the same ports with the same directory (nodes.conf, and the AOF when durable). */
  restart(): Promise<void>
}

export interface RedisCluster {
  readonly nodes: readonly ClusterNode[]
  /** `127.0.0.1:P1,127.0.0.1:P2,...`, the form of SESAME_TEST_REDIS_CLUSTER. */
  readonly seeds: string
  /** One redis-cli command against one node, e.g. `cli(port, 'CLUSTER', 'INFO')`; resolves with its output. */
  cli(port: number, ...args: string[]): Promise<string>
  /**
   * Moves these slots, keys and all, from one master to another, the way `redis-cli --cluster reshard`
   * does: IMPORTING on the target, MIGRATING on the source (from here on the source answers ASK for a
   * key it no longer has), MIGRATE the keys in batches, then SETSLOT NODE on every master (MOVED).
   * `pauseMs` waits after MIGRATING and after the keys moved, so that commands meet both states.
   */
  migrateSlots(from: ClusterNode, to: ClusterNode, slots: readonly number[], pauseMs?: number): Promise<void>
  /** Resolves once every running node reports cluster_state:ok (rejects after `timeoutMs`). */
  waitUntilOk(timeoutMs?: number): Promise<void>
  stop(): Promise<void>
}

export interface ClusterOptions {
  masters?: number
  /**
   * AOF with an fsync before every reply (`--appendonly yes --appendfsync always`), so that a node
   * killed with SIGKILL comes back with every write it acknowledged. Off: nothing on disk.
   */
  durable?: boolean
  /** cluster-node-timeout: how long until the other nodes consider a silent node failed. */
  nodeTimeoutMs?: number
}

const running = new Set<ChildProcess>()
let exitHookInstalled = false

function killAllOnExit(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL')
  })
}

async function answersPing(port: number): Promise<boolean> {
  return (await command(port, ['PING'], 1_000).catch(() => undefined)) === 'PONG'
}

/**
 * Starts the cluster; tries again on fresh ports (up to 3 times) when a node cannot start, since a
 * free port can be taken by another process between finding it and binding it.
 */
export async function startRedisCluster(options: ClusterOptions = {}): Promise<RedisCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options)
    } catch (error) {
      if (attempt >= 3) throw error
    }
  }
}

async function startOnce(options: ClusterOptions): Promise<RedisCluster> {
  const masters = options.masters ?? 3
  const dir = mkdtempSync(join(tmpdir(), 'sesame-cluster-'))
  killAllOnExit()

  const cli = async (port: number, ...args: string[]): Promise<string> => {
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 })
    return stdout
  }

  const makeNode = async (): Promise<ClusterNode & { start(): Promise<void> }> => {
    const port = await freePort()
    // The bus port explicitly (Redis >= 7): the default port + 10000 can be past 65535 for a free port.
    const busPort = await freePort()
    const nodeDir = join(dir, String(port))
    mkdirSync(nodeDir)
    let child: ChildProcess | undefined
    const args = [
      '--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1',
      '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 2_000),
      '--dir', nodeDir, '--save', '',
      ...(options.durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ]
    const start = async () => {
      const started = spawn('redis-server', args, { stdio: 'ignore' })
      child = started
      running.add(started)
      started.once('exit', () => running.delete(started))
      for (let i = 0; i < 100; i++) {
        if (started.exitCode !== null) break
        if (await answersPing(port)) return
        await sleep(50)
      }
      throw new Error(`redis-server (cluster node) did not start on port ${port}`)
    }
    const kill = async () => {
      const victim = child
      child = undefined
      if (!victim || victim.exitCode !== null || victim.signalCode !== null) return
      const exited = new Promise((resolve) => victim.once('exit', resolve))
      victim.kill('SIGCONT')
      victim.kill('SIGKILL')
      await exited
    }
    return {
      port,
      get pid() {
        return child?.pid
      },
      kill,
      restart: start,
      start,
    }
  }

  const nodes = await Promise.all(Array.from({ length: masters }, makeNode))
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.kill()))
    rmSync(dir, { recursive: true, force: true })
  }

  const waitUntilOk = async (timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const states = await Promise.all(
        nodes.filter((node) => node.pid !== undefined).map((node) => command(node.port, ['CLUSTER', 'INFO'], 1_000).then(String, () => '')),
      )
      if (states.every((info) => /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info))) return
      if (Date.now() > deadline) throw new Error(`the Redis Cluster did not reach cluster_state:ok within ${timeoutMs} ms`)
      await sleep(100)
    }
  }

  try {
    await Promise.all(nodes.map((node) => node.start()))
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`)
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 })
    await waitUntilOk()
  } catch (error) {
    await stop()
    throw error
  }

  const migrateSlots = async (from: ClusterNode, to: ClusterNode, slots: readonly number[], pauseMs = 0) => {
    const fromId = String(await command(from.port, ['CLUSTER', 'MYID']))
    const toId = String(await command(to.port, ['CLUSTER', 'MYID']))
    for (const slot of slots) {
      await command(to.port, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId])
      await command(from.port, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId])
      await sleep(pauseMs)
      for (;;) {
        const keys = (await command(from.port, ['CLUSTER', 'GETKEYSINSLOT', String(slot), '100'])) as string[]
        if (keys.length === 0) break
        await command(from.port, ['MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', ...keys])
      }
      await sleep(pauseMs)
      // The target first, then the source, then the rest (the order redis-cli uses).
      for (const node of [to, from, ...nodes.filter((n) => n !== to && n !== from)]) {
        await command(node.port, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', toId])
      }
    }
  }

  return {
    nodes,
    seeds: nodes.map((node) => `127.0.0.1:${node.port}`).join(','),
    cli,
    migrateSlots,
    waitUntilOk,
    stop,
  }
}

/** `host:port,host:port` -> [{ host, port }] */
export function parseSeeds(seeds: string): Array<{ host: string; port: number }> {
  return seeds
    .split(',')
    .filter(Boolean)
    .map((address) => {
      const at = address.lastIndexOf(':')
      return { host: address.slice(0, at), port: Number(address.slice(at + 1)) }
    })
}
