// `pnpm demo`: a scripted walk-through against the real example app over HTTP.
// Logs in, counts, revokes another device, sends a tampered cookie, lets a short idle timeout
// expire, logs out and replays the old cookie, then prints every audit event it saw.
import { spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fileSink } from '@sesame/audit-log'
import type { AuditEvent } from '@sesame/core'
import { createApp } from './app.js'

const events: AuditEvent[] = []
// The audit trail goes to an encrypted file too, read back at the end with the sesame-audit CLI.
const auditDir = mkdtempSync(join(tmpdir(), 'sesame-demo-'))
const auditLog = join(auditDir, 'audit.log')
const { app, sessions } = createApp({
  secret: 'demo-only-secret-change-me-0123456789abcdef',
  idleTimeout: '2s', // short, so the walk-through can show an idle expiry
  absoluteTimeout: '1h',
  audit: { hooks: [(event) => void events.push(event)], sinks: [fileSink({ path: auditLog })] },
})
const server = app.listen(0, '127.0.0.1')
await new Promise((resolve) => server.once('listening', resolve))
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

/** A browser in miniature: one cookie jar, no redirects followed. */
class Browser {
  cookie: string | undefined
  constructor(readonly userAgent: string) {}
  async send(method: string, path: string, form?: Record<string, string>) {
    const res = await fetch(base + path, {
      method,
      redirect: 'manual',
      headers: {
        'user-agent': this.userAgent,
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: form ? new URLSearchParams(form).toString() : undefined,
    })
    const setCookie = res.headers.getSetCookie().find((line) => line.startsWith('sid='))
    if (setCookie) this.cookie = /Max-Age=0/.test(setCookie) ? undefined : setCookie.split(';', 1)[0]
    return res
  }
  async count(): Promise<number> {
    return ((await (await this.send('GET', '/api/count')).json()) as { count: number }).count
  }
}

let step = 0
const say = (text: string) => console.log(`${String(++step).padStart(2)}. ${text}`)
const check = (ok: boolean, text: string) => {
  if (!ok) {
    console.error(`    FAILED: ${text}`)
    process.exitCode = 1
  } else console.log(`    ok: ${text}`)
}

console.log(`sesame demo: Express app on ${base} (memory store, idle timeout 2 s)\n`)
const laptop = new Browser('Laptop/1.0')
const phone = new Browser('Phone/2.0')

say('A visitor opens the home page: nothing stored, no cookie.')
await laptop.send('GET', '/')
check(laptop.cookie === undefined, 'no Set-Cookie for a session nobody wrote to')

say('The visitor logs in as alice.')
const login = await laptop.send('POST', '/login', { username: 'alice', password: 'wonderland' })
check(login.status === 303 && laptop.cookie !== undefined, `303 redirect with a sealed cookie (${laptop.cookie?.slice(0, 18)}...)`)
const homePage = await (await laptop.send('GET', '/')).text()
check(homePage.includes('Hello, Alice'), 'the home page greets Alice')

say('Alice counts three times.')
const counts = [await laptop.count(), await laptop.count(), await laptop.count()]
check(counts.join() === '1,2,3', `counter: ${counts.join(' -> ')}`)

say('Alice also logs in on her phone, then ends that session from the laptop.')
await phone.send('POST', '/login', { username: 'alice', password: 'wonderland' })
const before = await (await laptop.send('GET', '/sessions')).text()
check((before.match(/<tr><td>/g) ?? []).length === 2, 'the sessions page lists two sessions')
await laptop.send('POST', '/sessions/revoke-others')
const phoneAfter = await phone.send('GET', '/sessions')
check(phoneAfter.status === 303, 'the phone is logged out (redirected to log in)')

say('Someone edits the laptop cookie by one character.')
const intruder = new Browser('curl/8')
const good = laptop.cookie!
intruder.cookie = good.slice(0, 40) + (good[40] === 'A' ? 'B' : 'A') + good.slice(41)
check((await intruder.count()) === 1, 'the tampered cookie gets a fresh, empty session (count 1)')
check((await laptop.count()) === 4, 'the real session is untouched (count 4)')

say('The laptop stays idle for longer than the idle timeout (2 s)...')
await new Promise((resolve) => setTimeout(resolve, 2300))
check((await laptop.count()) === 1, 'the idle session expired: a fresh session counts from 1')

say('Alice logs in again and logs out; the old cookie is replayed.')
await laptop.send('POST', '/login', { username: 'alice', password: 'wonderland' })
const loggedIn = laptop.cookie!
await laptop.send('POST', '/logout')
const replay = new Browser('replay/1.0')
replay.cookie = loggedIn
const replayed = (await (await replay.send('GET', '/api/count')).json()) as { user: string | null }
check(replayed.user === null, 'the logged-out cookie no longer works')

await sessions.close()
server.close()

console.log(`\nAudit events seen (${events.length}); sessionRef is a keyed hash, never the id:`)
for (const event of events) {
  const detail = [event.count && `count=${event.count}`, event.reason && `reason=${event.reason}`, event.userId && `user=${event.userId}`, event.ip && `ip=${event.ip}`, event.userAgent && `ua=${event.userAgent}`]
    .filter(Boolean)
    .join(' ')
  console.log(`  ${event.at}  ${event.type.padEnd(18)} ref=${event.sessionRef.slice(0, 8)}…  ${detail}`)
}
const seen = new Set(events.map((event) => event.type))
for (const type of ['session.login', 'session.revoked', 'session.rejected', 'session.expired', 'session.logout'] as const) {
  check(seen.has(type), `${type} was recorded`)
}

// sessions.close() above flushed and closed the sink; now read the file the way an operator would.
const cli = join(dirname(fileURLToPath(import.meta.resolve('@sesame/audit-log'))), 'cli.js')
const keyFile = join(auditDir, '.sesame-audit', 'key')
console.log(`\nThe same trail from the encrypted file, via: sesame-audit query --key-file ${keyFile} ${auditLog}`)
const query = spawnSync(process.execPath, [cli, 'query', '--key-file', keyFile, auditLog], { encoding: 'utf8' })
process.stdout.write(query.stdout)
if (query.stderr) process.stdout.write(query.stderr)
check(query.status === 0 && query.stdout.includes('session.logout'), 'sesame-audit query read the encrypted trail')
const verify = spawnSync(process.execPath, [cli, 'verify', '--key-file', keyFile, auditLog], { encoding: 'utf8' })
check(verify.status === 0, `sesame-audit verify: ${verify.stdout.trim().split('\n').at(-1)}`)
console.log(process.exitCode ? '\nDemo FAILED.' : '\nDemo finished.')
