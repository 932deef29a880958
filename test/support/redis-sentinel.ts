// A Redis behind one Sentinel for tests: a redis-server of ours and a `redis-server --sentinel` that
// monitors it as "sesame", on free loopback ports in a temp directory; stopped by PID (SIGKILL), also
// when the test process exits. The shared Redis on 6379 is never touched.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.js'
import { command } from './resp.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export interface RedisWithSentinel {
  /** The name the Sentinel knows the master by. */
  readonly masterName: string
  readonly masterPort: number
  readonly sentinelPort: number
  stop(): Promise<void>
}

export async function startRedisWithSentinel(): Promise<RedisWithSentinel> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-sentinel-'))
  const masterName = 'sesame'
  const [masterPort, sentinelPort] = [await freePort(), await freePort()]
  const children: ChildProcess[] = []
  const killAll = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  process.once('exit', killAll)
  const stop = async () => {
    await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGKILL') }) : undefined)))
    process.off('exit', killAll)
    rmSync(dir, { recursive: true, force: true })
  }
  const until = async (what: string, check: () => Promise<boolean>) => {
    for (let i = 0; i < 100; i++) {
      if (await check().catch(() => false)) return
      await sleep(50)
    }
    throw new Error(`${what} did not come up`)
  }
  try {
    children.push(spawn('redis-server', ['--port', String(masterPort), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }))
    await until('redis-server', async () => (await command(masterPort, ['PING'], 500)) === 'PONG')
    // Sentinel rewrites its configuration file, so it gets one of its own.
    const config = join(dir, 'sentinel.conf')
    writeFileSync(config, `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor ${masterName} 127.0.0.1 ${masterPort} 1\n`)
    children.push(spawn('redis-server', [config, '--sentinel'], { stdio: 'ignore' }))
    await until('redis sentinel', async () => {
      const reply = (await command(sentinelPort, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName], 500)) as string[] | null
      return reply?.[1] === String(masterPort)
    })
  } catch (error) {
    await stop()
    throw error
  }
  return { masterName, masterPort, sentinelPort, stop }
}
