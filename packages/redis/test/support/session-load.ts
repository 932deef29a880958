// A bounded load of logged-in users against app processes over real HTTP, for the fault tests: each
// user, one request at a time, writes (a fresh key each time), logs in again, or reads, on a random
// process, and behaves like a browser with its cookie (it takes every Set-Cookie, whatever the status).
// It records what a user would notice:
//   silent logout - a 200 that answers from a session that is not the user's (anonymous, or a cleared
//                   cookie), although the user's last acknowledged response set or kept a cookie;
//   lost write    - a 200 for a write whose value the user's session no longer has at the end.
// Every request is kept in a timeline, so a failure can be explained request by request.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export interface AppProcess {
  readonly url: string
  readonly child: ChildProcess
  readonly output: string[]
}

const here = fileURLToPath(new URL('.', import.meta.url))

export function startLoadApp(env: Record<string, string>): Promise<AppProcess> {
  const child = spawn(process.execPath, ['load-app.mjs'], { cwd: here, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const output: string[] = []
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk) => output.push(String(chunk)))
    child.stdout!.on('data', (chunk) => {
      output.push(String(chunk))
      const match = /listening (\d+)/.exec(String(chunk))
      if (match) resolve({ url: `http://127.0.0.1:${match[1]}`, child, output })
    })
    child.once('exit', (code) => reject(new Error(`load app exited (${code}) before listening:\n${output.join('')}`)))
  })
}

export async function stopLoadApp(app: AppProcess | undefined): Promise<void> {
  if (!app || app.child.exitCode !== null) return
  const exited = new Promise((resolve) => app.child.once('exit', resolve))
  app.child.kill('SIGTERM')
  const timer = setTimeout(() => app.child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}

export interface Step {
  readonly user: string
  /** ms since the load started */
  readonly at: number
  readonly ms: number
  readonly op: 'login' | 'write' | 'read' | 'final'
  readonly status: number | 'network'
  /** 'set' a new cookie, 'cleared' it, or '' */
  readonly cookie: 'set' | 'cleared' | ''
  readonly userId?: string | null | undefined
  readonly key?: string | undefined
}

export interface LoadReport {
  readonly steps: Step[]
  readonly statuses: Record<string, number>
  /** Users who saw a silent logout, with the 200 that showed it. */
  readonly silentLogouts: Map<string, Step>
  /** user -> acknowledged write keys missing (or with another value) at the end */
  readonly lostWrites: Map<string, string[]>
  readonly acknowledgedWrites: number
  readonly logins: { ok: number; unavailable: number }
  /** A user's last `count` requests, up to the one that showed the silent logout if any, for a failure message. */
  explain(user: string, count?: number): string
}

interface UserState {
  readonly name: string
  cookie: string | undefined
  seq: number
  readonly acked: Map<string, string>
}

function sidCookie(response: Response): string | undefined | null {
  for (const line of response.headers.getSetCookie()) {
    if (!line.startsWith('sid=')) continue
    const value = line.slice(4, line.indexOf(';') === -1 ? undefined : line.indexOf(';'))
    return value === '' ? null : value
  }
  return undefined
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export interface LoadOptions {
  readonly apps: readonly AppProcess[]
  readonly users: number
  /** How long the users keep going (ms). */
  readonly durationMs: number
  /** Called once, this long after the load started. */
  readonly fault?: { readonly afterMs: number; readonly run: () => Promise<void> }
  readonly label: string
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const started = Date.now()
  const steps: Step[] = []
  const silentLogouts = new Map<string, Step>()
  const logins = { ok: 0, unavailable: 0 }
  let acknowledgedWrites = 0
  let random = 0x2545f491
  const next = () => {
    // xorshift: the same sequence of choices every run
    random ^= random << 13
    random ^= random >>> 17
    random ^= random << 5
    return (random >>> 0) / 2 ** 32
  }

  async function send(user: UserState, op: Step['op'], path: string, method: 'GET' | 'POST', key?: string): Promise<{ step: Step; body: { userId?: string | null; data?: Record<string, unknown> } | undefined }> {
    const app = options.apps[Math.floor(next() * options.apps.length)]!
    const at = Date.now() - started
    let status: Step['status'] = 'network'
    let cookie: Step['cookie'] = ''
    let body: { userId?: string | null; data?: Record<string, unknown> } | undefined
    try {
      const response = await fetch(app.url + path, {
        method,
        headers: user.cookie ? { cookie: `sid=${user.cookie}` } : {},
        signal: AbortSignal.timeout(10_000),
      })
      status = response.status
      // A browser takes a Set-Cookie on any response, 503s included.
      const set = sidCookie(response)
      if (set === null) {
        user.cookie = undefined
        cookie = 'cleared'
      } else if (set !== undefined) {
        user.cookie = set
        cookie = 'set'
      }
      body = (await response.json()) as typeof body
    } catch {
      status = 'network'
    }
    const step: Step = { user: user.name, at, ms: Date.now() - started - at, op, status, cookie, userId: body?.userId, key }
    steps.push(step)
    return { step, body }
  }

  const users: UserState[] = Array.from({ length: options.users }, (_, i) => ({ name: `${options.label}-u${i}`, cookie: undefined, seq: 0, acked: new Map() }))
  // Everybody logs in first (before any fault).
  await Promise.all(
    users.map(async (user) => {
      const { step } = await send(user, 'login', `/login/${user.name}`, 'POST')
      if (step.status !== 200 || !user.cookie) throw new Error(`${user.name} could not log in before the fault: ${step.status}`)
    }),
  )

  const stopAt = Date.now() + options.durationMs
  const fault = options.fault ? sleep(options.fault.afterMs).then(options.fault.run) : Promise.resolve()

  await Promise.all(
    users.map(async (user) => {
      while (Date.now() < stopAt) {
        const pick = next()
        let result
        if (pick < 0.2) {
          result = await send(user, 'login', `/login/${user.name}`, 'POST')
          if (result.step.status === 200) logins.ok++
          else if (result.step.status === 503) logins.unavailable++
        } else if (pick < 0.75) {
          const key = `w${user.seq++}`
          const value = `${user.name}-${key}`
          result = await send(user, 'write', `/set/${key}?value=${value}`, 'POST', key)
          if (result.step.status === 200) {
            user.acked.set(key, value)
            acknowledgedWrites++
          }
        } else {
          result = await send(user, 'read', '/whoami', 'GET')
        }
        if (result.step.status === 200 && (result.step.cookie === 'cleared' || result.body?.userId !== user.name)) {
          if (!silentLogouts.has(user.name)) silentLogouts.set(user.name, result.step)
        }
        await sleep(10 + Math.floor(next() * 30))
      }
    }),
  )
  await fault

  // Let whatever Redis still holds land, then every user reads their session once more.
  await sleep(500)
  const lostWrites = new Map<string, string[]>()
  await Promise.all(
    users.map(async (user) => {
      let result = await send(user, 'final', '/whoami', 'GET')
      for (let i = 0; i < 20 && result.step.status === 503; i++) {
        await sleep(250)
        result = await send(user, 'final', '/whoami', 'GET')
      }
      if (result.step.status !== 200 || result.body?.userId !== user.name) {
        if (!silentLogouts.has(user.name)) silentLogouts.set(user.name, result.step)
      }
      const data = result.body?.data ?? {}
      const missing = [...user.acked].filter(([key, value]) => data[key] !== value).map(([key]) => key)
      if (missing.length > 0) lostWrites.set(user.name, missing)
    }),
  )

  const statuses: Record<string, number> = {}
  for (const step of steps) statuses[String(step.status)] = (statuses[String(step.status)] ?? 0) + 1
  return {
    steps,
    statuses,
    silentLogouts,
    lostWrites,
    acknowledgedWrites,
    logins,
    explain(user: string, count = 8) {
      const mine = steps.filter((step) => step.user === user)
      const last = silentLogouts.get(user)
      const end = last ? mine.indexOf(last) + 1 : mine.length
      return mine
        .slice(Math.max(0, end - count), end)
        .map((s) => `  ${user} +${s.at}ms ${s.op}${s.key ? ` ${s.key}` : ''} -> ${s.status} in ${s.ms}ms cookie:${s.cookie || '-'} userId:${s.userId ?? '-'}`)
        .join('\n')
    },
  }
}
