// Process shutdown, in real child processes running the built packages (dist/): close() flushes the
// audit sinks and stops every timer, so a process that served requests and closed exits by itself
// with every accepted event written. A sink with a timer of its own (as a file sink batching writes
// has) would keep the process alive forever if close() forgot to close it.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { builtEntry, repoRoot } from '../support/built.js'
import { freePort } from '../support/ports.js'

const here = new URL('.', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'sesame-shutdown-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A sink as a real one is built: queue in memory, write in batches on a (ref'd) timer, flush on close. */
const SINK = `
import { appendFileSync } from 'node:fs'
function batchingSink(path) {
  let queue = []
  const drain = () => { if (queue.length) { appendFileSync(path, queue.map((e) => JSON.stringify(e) + '\\n').join('')); queue = [] } }
  const timer = setInterval(drain, 60_000) // deliberately long and ref'd: only close() may end it
  return {
    write(event) { queue.push(event) },
    async flush() { drain() },
    async close() { drain(); clearInterval(timer) },
  }
}
`

function runChild(script: string, timeoutMs = 15_000) {
  const started = Date.now()
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: here, timeout: timeoutMs, encoding: 'utf8' })
  return { ...child, elapsed: Date.now() - started }
}

const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type: string; count?: number }) : [])

describe('shutdown', () => {
  it('core: an engine with a memory store and a batching sink serves requests, close() flushes, the process exits on its own', () => {
    const core = builtEntry('core')
    const out = join(dir, 'core-events.jsonl')
    const script = `${SINK}
import http from 'node:http'
const { createEngine, memoryStore } = await import(${JSON.stringify(core)})
const engine = createEngine({ secret: 'shutdown-test-secret-0123456789-abcdef', store: memoryStore({ sweepInterval: 50 }), audit: { sinks: [batchingSink(${JSON.stringify(out)})] } })
const server = http.createServer(async (req, res) => {
  const state = await engine.load({ cookie: req.headers.cookie, encrypted: false, remoteAddress: req.socket.remoteAddress })
  if (req.url === '/count') state.session.n = ((state.session.n ?? 0) + 1)
  const cookie = await engine.commit(state)
  if (cookie) res.setHeader('Set-Cookie', cookie)
  res.end(String(state.session.n))
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const base = 'http://127.0.0.1:' + server.address().port
const first = await fetch(base + '/count', { headers: { connection: 'close' } })
const cookie = first.headers.get('set-cookie').split(';')[0]
await fetch(base + '/count', { headers: { cookie, connection: 'close' } })
for (let i = 0; i < 5; i++) await fetch(base + '/read', { headers: { cookie: 'sid=forged-' + i, connection: 'close' } })
await new Promise((resolve) => server.close(resolve))
await engine.close()
console.log('closed')
`
    const child = runChild(script)
    expect(child.stderr).toBe('')
    expect(child.stdout.trim()).toBe('closed')
    expect(child.signal, 'the process had to be killed: something kept it alive after close()').toBeNull()
    expect(child.status).toBe(0)
    const events = lines(out)
    // Every accepted event reached the file: the creation, and all five rejections (one + a folded count of four).
    expect(events.filter((event) => event.type === 'session.created')).toHaveLength(1)
    expect(events.filter((event) => event.type === 'session.rejected').reduce((sum, event) => sum + (event.count ?? 1), 0)).toBe(5)
  })

  it('express: the adapter’s close() does the same', () => {
    const expressAdapter = builtEntry('express')
    const out = join(dir, 'express-events.jsonl')
    const script = `${SINK}
import express from 'express'
const { session } = await import(${JSON.stringify(expressAdapter)})
const sessions = session({ secret: 'shutdown-test-secret-0123456789-abcdef', audit: { sinks: [batchingSink(${JSON.stringify(out)})] } })
const app = express()
app.use(sessions)
app.post('/login', async (req, res) => { await req.session.login('alice'); res.json({ ok: true }) })
const server = app.listen(0, '127.0.0.1')
await new Promise((resolve) => server.once('listening', resolve))
const res = await fetch('http://127.0.0.1:' + server.address().port + '/login', { method: 'POST', headers: { connection: 'close' } })
await res.text()
await new Promise((resolve) => server.close(resolve))
await sessions.close()
console.log('closed')
`
    const child = runChild(script)
    expect(child.stderr).toBe('')
    expect(child.stdout.trim()).toBe('closed')
    expect(child.signal).toBeNull()
    expect(child.status).toBe(0)
    expect(lines(out).map((event) => event.type)).toEqual(['session.login'])
  })

  it('the check can fail: a process whose sink is never closed is still alive at the bound', () => {
    const core = builtEntry('core')
    const script = `${SINK}
const { createEngine } = await import(${JSON.stringify(core)})
createEngine({ secret: 'shutdown-test-secret-0123456789-abcdef', audit: { sinks: [batchingSink(${JSON.stringify(join(dir, 'never.jsonl'))})] } })
console.log('not closed')
`
    const child = runChild(script, 1500)
    expect(child.stdout.trim()).toBe('not closed')
    expect(child.signal).toBe('SIGTERM')
  })
})

/** The examples that run as a plain Node server (the Next.js example is covered by test/e2e). */
const nodeExamples = [
  { name: 'express-app', banner: 'sesame express example on', adapter: 'express' },
  { name: 'koa-app', banner: 'sesame koa example on', adapter: 'koa' },
].filter((example) => existsSync(join(repoRoot, 'examples', example.name, 'package.json')))


describe.each(nodeExamples)('SIGTERM in examples/$name', (example) => {
  it('every audit event accepted before SIGTERM is in its (verified) audit log, and it exits 0 promptly', async () => {
    const exampleServer = join(repoRoot, 'examples', example.name, 'dist/server.js')
    if (!existsSync(exampleServer)) {
      builtEntry(example.adapter)
      builtEntry('audit-log')
      spawnSync(join(repoRoot, 'node_modules/.bin/tsc'), ['-p', join(repoRoot, 'examples', example.name, 'tsconfig.json')], { stdio: 'inherit' })
    }
    const auditLog = join(dir, `${example.name}-audit.log`)
    const port = await freePort()
    const child = spawn(process.execPath, [exampleServer], {
      cwd: dir,
      env: { ...process.env, PORT: String(port), SESSION_SECRET: 'sigterm-test-secret-0123456789-abcdefgh', AUDIT_LOG: auditLog, SESAME_AUDIT_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
    try {
      for (let i = 0; i < 100 && !output.includes(example.banner); i++) await new Promise((resolve) => setTimeout(resolve, 50))
      expect(output).toContain(`http://127.0.0.1:${port}`)
      const base = `http://127.0.0.1:${port}`
      const login = await fetch(`${base}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', connection: 'close' },
        body: 'username=alice&password=wonderland',
      })
      expect(login.status).toBe(303)
      const cookie = login.headers.getSetCookie().find((line) => line.startsWith('sid='))!.split(';', 1)[0]!
      const count = await fetch(`${base}/api/count`, { headers: { cookie, connection: 'close' } })
      expect(await count.json()).toEqual({ count: 1, user: 'alice' })
      // Rejections are folded per client per minute: the folded count exists only in memory until close().
      for (let i = 0; i < 4; i++) await (await fetch(`${base}/api/count`, { headers: { cookie: `sid=forged-${i}`, connection: 'close' } })).text()
      await (await fetch(`${base}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie, connection: 'close' } })).text()
      child.kill('SIGTERM')
      const bound = new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 5000))
      expect(await Promise.race([exited, bound])).toEqual({ code: 0, signal: null })
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
    const keyFile = join(dir, '.sesame-audit', 'key')
    const { readAuditEvents, verifyAuditLog } = await import('@sesame/audit-log')
    const { events, problems } = await readAuditEvents(auditLog, { keyFile })
    expect(problems).toEqual([])
    const types = events.map((entry) => entry.event.type)
    expect(types.filter((type) => type === 'session.login')).toHaveLength(1)
    expect(types.filter((type) => type === 'session.logout')).toHaveLength(1)
    const rejected = events.filter((entry) => entry.event.type === 'session.rejected')
    expect(rejected.reduce((sum, entry) => sum + (entry.event.count ?? 1), 0)).toBe(4)
    expect((await verifyAuditLog(auditLog, { keyFile })).ok).toBe(true)
  })
})
