// A redis-server of the test's own, on a free port, that the test may kill, pause and restart.
// The shared Redis on 6379 is never touched. AOF with fsync on every write, so that a SIGKILL loses
// nothing and "Redis came back" means "with the sessions it had".
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../../../test/support/ports.js'
export { freePort }


function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(300, () => done(false))
    socket.on('error', () => done(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => done(chunk.toString().startsWith('+PONG')))
  })
}

export interface OwnRedis {
  readonly port: number
  readonly url: string
  /** SIGKILL: the server is gone at once, connections drop. */
  kill(): Promise<void>
  /** SIGSTOP: the server holds its connections and answers nothing (a "slow" Redis). */
  pause(): void
  resume(): void
  /** Start again on the same port with the same data directory. */
  restart(): Promise<void>
  /** Kill and remove the data directory. */
  dispose(): Promise<void>
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'sesame-redis-'))
  let child: ChildProcess | undefined

  const start = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'],
      { stdio: 'ignore' },
    )
    for (let i = 0; i < 100; i++) {
      if (await answersPing(port)) return
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`redis-server did not start on port ${port}`)
  }
  const kill = async () => {
    const running = child
    child = undefined
    if (!running || running.exitCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGCONT')
    running.kill('SIGKILL')
    await exited
  }

  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    restart: start,
    dispose: async () => {
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
