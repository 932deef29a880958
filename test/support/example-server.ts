// An example's own `start` (node dist/server.js) run as a user runs it: in a fresh directory (the
// audit log and its key land there), with the environment the test gives and nothing inherited
// that the server reads.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { builtEntry, repoRoot } from './built.js'

export type ExampleApp = 'express-app' | 'koa-app'

/** dist/server.js of the example, built (with the packages it imports) if missing. */
export function exampleServer(app: ExampleApp): string {
  builtEntry(app === 'express-app' ? 'express' : 'koa')
  builtEntry('audit-log')
  const dir = `${repoRoot}examples/${app}/`
  if (!existsSync(`${dir}dist/server.js`)) execFileSync(`${repoRoot}node_modules/.bin/tsc`, ['-p', `${dir}tsconfig.json`], { stdio: 'inherit' })
  return `${dir}dist/server.js`
}

function environment(vars: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of ['SESSION_SECRET', 'PORT', 'AUDIT_LOG']) delete env[name]
  for (const [name, value] of Object.entries(vars)) if (value !== undefined) env[name] = value
  return env
}

/** Run the server to its exit (for starts that must fail). */
export function runToExit(entry: string, vars: Record<string, string | undefined>) {
  const cwd = mkdtempSync(join(tmpdir(), 'sesame-example-'))
  try {
    return spawnSync(process.execPath, [entry], { cwd, env: environment(vars), encoding: 'utf8', timeout: 20_000 })
  } finally {
    rmSync(cwd, { recursive: true, force: true })
  }
}

/** Start the server on a free port; resolves with its URL once it prints it. */
export interface RunningServer {
  url: string
  child: ChildProcess
  /** Everything it printed so far, stdout and stderr. */
  output: () => string
  /** Its working directory (audit.log and the key are written there). */
  cwd: string
}

export async function startServer(entry: string, vars: Record<string, string | undefined>): Promise<RunningServer> {
  const cwd = mkdtempSync(join(tmpdir(), 'sesame-example-'))
  const child = spawn(process.execPath, [entry], { cwd, env: environment({ PORT: '0', ...vars }), stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within 20 s:\n${output}`)), 20_000)
    child.stdout!.on('data', () => {
      const match = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before listening:\n${output}`))
    })
  })
  return { url, child, output: () => output, cwd }
}

/** SIGTERM, the exit code it ends with; its directory is removed. */
export async function stop(server: RunningServer): Promise<number | null> {
  const { child } = server
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }
  rmSync(server.cwd, { recursive: true, force: true })
  return child.exitCode
}
