// The sesame-audit bin, run as a real process on real files.
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { AuditEvent } from '@sesame/core'
import { fileSink } from '@sesame/audit-log'
import { OTHER_KEY, TEST_KEY, distCli, ensureBuilt, runCli, sampleEvents, startWriter, tempDir, waitFor } from './support/index.js'

let dir: string
let cleanup: () => void
let path: string
const env = { SESAME_AUDIT_KEY: TEST_KEY }

async function writeEvents(file: string, events: AuditEvent[], key = TEST_KEY): Promise<void> {
  const sink = fileSink({ path: file, key })
  for (const event of events) sink.write(event)
  await sink.close()
}

beforeAll(() => ensureBuilt())
beforeEach(async () => {
  ;({ dir, cleanup } = tempDir())
  path = join(dir, 'audit.log')
})
afterEach(() => cleanup())

describe('sesame-audit query', () => {
  it('prints a readable table of every event', async () => {
    await writeEvents(path, sampleEvents())
    const { status, stdout } = await runCli(['query', path], env)
    expect(status).toBe(0)
    const rows = stdout.trimEnd().split('\n')
    expect(rows[0]).toMatch(/^TIME\s+TYPE\s+USER\s+SESSION\s+IP\s+REQUEST\s+DETAIL$/)
    expect(rows).toHaveLength(1 + sampleEvents().length)
    expect(rows[3]).toMatch(/^2026-11-23T10:00:00\.000Z session\.login\s+alice\s+q0Ri1lZHCbKhcHqkxZ0AWw 203\.0\.113\.9\s+GET \/e\/2/)
    expect(rows[6]).toContain('reason=idle ageMs=3600000 idleMs=1800001')
  })

  it('filters by type, user, session ref and time, and prints JSON lines with --json', async () => {
    const events: AuditEvent[] = [
      { type: 'session.login', at: '2026-11-23T09:00:00.000Z', sessionRef: 'AAAA1111', userId: 'alice' },
      { type: 'session.login', at: '2026-11-23T10:00:00.000Z', sessionRef: 'BBBB2222', userId: 'bob' },
      { type: 'session.logout', at: '2026-11-23T11:00:00.000Z', sessionRef: 'AAAA1111', userId: 'alice' },
      { type: 'session.expired', at: '2026-11-23T12:00:00.000Z', sessionRef: 'CCCC3333', reason: 'absolute' },
    ]
    await writeEvents(path, events)
    const query = async (...args: string[]) => {
      const { status, stdout } = await runCli(['query', '--json', ...args, path], env)
      expect(status).toBe(0)
      return stdout.trimEnd().split('\n').filter(Boolean).map((line) => JSON.parse(line))
    }
    expect((await query('--type', 'session.login')).map((event) => event.userId)).toEqual(['alice', 'bob'])
    expect((await query('--type', 'session.login,session.logout', '--user', 'alice')).map((event) => event.type)).toEqual(['session.login', 'session.logout'])
    expect((await query('--session-ref', 'AAAA')).map((event) => event.at)).toEqual([events[0]!.at, events[2]!.at])
    expect((await query('--since', '2026-11-23T10:00:00Z', '--until', '2026-11-23T11:30:00Z')).map((event) => event.sessionRef)).toEqual(['BBBB2222', 'AAAA1111'])
    const [first] = await query('--type', 'session.expired')
    // Line 1 is the empty line every append starts with, line 2 the open record.
    expect(first).toEqual({ file: path, line: 6, ...events[3] })
  })

  it('never prints terminal control sequences from the log, in the table or in JSON', async () => {
    const hostile = '\u001b[2J\u001b]0;owned\u0007 \u009b31m evil\u202etxt.exe \r\b'
    await writeEvents(path, [{ type: 'session.rejected', at: '2026-11-23T10:00:00.000Z', sessionRef: 'r', userAgent: hostile, path: hostile, userId: hostile }])
    for (const args of [['query', path], ['query', '--json', path], ['tail', path]]) {
      const { status, stdout } = await runCli(args, env)
      expect(status).toBe(0)
      expect(stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/)
      expect(stdout).toMatch(/\\(x1b|u001b)/)
    }
    const { stdout } = await runCli(['query', '--json', path], env)
    expect(JSON.parse(stdout).userAgent).toBe(hostile)
  })

  it('reads with the key file given by --key-file, and exits 2 with a clear message without a key', async () => {
    const keyFile = join(dir, 'key')
    writeFileSync(keyFile, `${TEST_KEY}\n`, { mode: 0o600 })
    await writeEvents(path, sampleEvents().slice(0, 2))
    const withFile = await runCli(['query', '--json', '--key-file', keyFile, path])
    expect(withFile.status).toBe(0)
    expect(withFile.stdout.trimEnd().split('\n')).toHaveLength(2)
    const without = await runCli(['query', path])
    expect(without.status).toBe(2)
    expect(without.stderr).toContain('SESAME_AUDIT_KEY')
    expect(without.stderr).toContain(`no key file at ${join(dir, '.sesame-audit', 'key')}`)
    chmodSync(keyFile, 0o644)
    const insecure = await runCli(['query', '--key-file', keyFile, path])
    expect(insecure.status).toBe(2)
    expect(insecure.stderr).toContain(`chmod 600 ${keyFile}`)
  })
})

describe('the key the sink generated', () => {
  it('query, tail and verify find it beside the log with no key option; SESAME_AUDIT_KEY and --key-file come first', async () => {
    // No key given: the sink creates <dir>/.sesame-audit/key.
    const sink = fileSink({ path })
    for (const event of sampleEvents()) sink.write(event)
    await sink.close()
    const query = await runCli(['query', '--json', path])
    expect(query.status, query.stderr).toBe(0)
    expect(query.stdout.trimEnd().split('\n').map((line) => JSON.parse(line).type)).toEqual(sampleEvents().map((event) => event.type))
    const tail = await runCli(['tail', '-n', '1', '--json', path])
    expect(tail.status, tail.stderr).toBe(0)
    expect(JSON.parse(tail.stdout).type).toBe('store.failover')
    const verify = await runCli(['verify', path])
    expect(verify.status, verify.stdout).toBe(0)
    expect(verify.stdout).toContain('OK: 13 of 13 lines verified')

    // A key from the environment or --key-file is used instead of the one beside the log.
    const otherKeyFile = join(dir, 'other.key')
    writeFileSync(otherKeyFile, `${OTHER_KEY}\n`, { mode: 0o600 })
    for (const [args, extraEnv] of [[['verify', path], { SESAME_AUDIT_KEY: OTHER_KEY }], [['verify', '--key-file', otherKeyFile, path], {}]] as const) {
      const wrong = await runCli([...args], extraEnv)
      expect(wrong.status).toBe(1)
      expect(wrong.stdout).toContain('unknown_key')
    }
  })
})

describe('sesame-audit verify', () => {
  it('exits 0 on an intact log and 1 with file:line for each problem', async () => {
    await writeEvents(path, sampleEvents())
    const clean = await runCli(['verify', path], env)
    expect(clean.status).toBe(0)
    expect(clean.stdout).toContain('OK: 13 of 13 lines verified in 1 writer segment across 1 file')

    const lines = readFileSync(path, 'utf8').split('\n')
    lines.splice(4, 1) // delete line 5
    const edited = JSON.parse(lines[7]!) // line 8
    edited.c = `${edited.c.slice(0, -2)}${edited.c.endsWith('AA') ? 'BB' : 'AA'}`
    lines[7] = JSON.stringify(edited)
    writeFileSync(path, lines.join('\n'))
    const broken = await runCli(['verify', path], env)
    expect(broken.status).toBe(1)
    expect(broken.stdout).toContain(`${path}:5: missing:`)
    expect(broken.stdout).toContain(`${path}:8: unauthentic:`)
    expect(broken.stdout).toMatch(/FAILED: 2 problems/)
  })

  it('on the log of a running writer: the open tail is reported as open and verify exits 0 without --allow-open; once the writer is killed, it fails', async () => {
    const writer = startWriter({ path, key: TEST_KEY, untilSignal: true, tag: 'live', chunk: 10, pauseMs: 20 })
    await waitFor(() => existsSync(path) && readFileSync(path, 'utf8').split('\n').filter(Boolean).length > 20, 'the writer to be writing')
    try {
      const live = await runCli(['verify', path], env)
      expect(live.status, live.stdout).toBe(0)
      expect(live.stdout).toMatch(new RegExp(`:\\d+: open: writer \\S+ \\(pid ${writer.pid}\\) is still running: its last batch is not closed yet`))
      expect(live.stdout).toMatch(/^OK: .*still open \(a writer still writing\)$/m)
      const json = JSON.parse((await runCli(['verify', '--json', path], env)).stdout)
      expect(json.ok).toBe(true)
      expect(json.problems).toEqual([])
      expect(json.open[0]).toMatchObject({ kind: 'unterminated', writer: expect.any(String) })
    } finally {
      writer.kill('SIGKILL')
      await writer.exited
    }
    // The writer is gone: the segment really ends without its close record.
    const crashed = await runCli(['verify', '--json', path], env)
    expect(crashed.status).toBe(1)
    expect(JSON.parse(crashed.stdout).problems.map((problem: { kind: string }) => problem.kind)).toContain('unterminated')
    // --allow-open still accepts every unclosed segment.
    const allowed = await runCli(['verify', '--allow-open', path], env)
    expect(allowed.status).toBe(0)
    expect(allowed.stdout).toContain('accepted: allowOpen')
  })

  it('a closed log cut between two lines fails, even while the process that wrote it is still running', async () => {
    // This process wrote it and is alive, but no longer holds the file open.
    await writeEvents(path, sampleEvents())
    const text = readFileSync(path, 'utf8')
    writeFileSync(path, text.slice(0, text.lastIndexOf('\n', text.length - 2) + 1))
    const cut = await runCli(['verify', path], env)
    expect(cut.status).toBe(1)
    expect(cut.stdout).toMatch(/: unterminated: .* is not seen holding the file open/)
  })
})

describe('sesame-audit tail', () => {
  it('prints the last N events', async () => {
    await writeEvents(path, sampleEvents())
    const { status, stdout } = await runCli(['tail', '-n', '2', '--json', path], env)
    expect(status).toBe(0)
    expect(stdout.trimEnd().split('\n').map((line) => JSON.parse(line).type)).toEqual(['store.error', 'store.failover'])
  })

  it('-f follows new events, also across a rotation of the file', async () => {
    const sink = fileSink({ path, key: TEST_KEY })
    sink.write({ ...sampleEvents()[0]!, path: '/before' })
    await sink.flush()
    const child = spawn(process.execPath, [distCli, 'tail', '-f', '--json', path], { env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const exited = new Promise((resolve) => child.on('exit', resolve))
    try {
      await waitFor(() => stdout.includes('/before'), 'the existing event')
      sink.write({ ...sampleEvents()[1]!, path: '/live' })
      await sink.flush()
      await waitFor(() => stdout.includes('/live'), 'the appended event')
      renameSync(path, `${path}.1`)
      sink.write({ ...sampleEvents()[2]!, path: '/after-rotation' })
      await sink.flush()
      await waitFor(() => stdout.includes('/after-rotation'), 'the event in the new file')
      expect(stderr).toContain('rotated')
    } finally {
      child.kill('SIGINT')
      await sink.close()
    }
    expect(await exited).toBe(0)
    expect(stdout.trimEnd().split('\n').map((line) => JSON.parse(line).path)).toEqual(['/before', '/live', '/after-rotation'])
  })
})

describe('sesame-audit keygen', () => {
  it('prints a new key, or rotates a key file keeping the old keys for reading', async () => {
    const printed = await runCli(['keygen'])
    expect(printed.status).toBe(0)
    expect(printed.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/)

    const keyFile = join(dir, 'keys', 'audit.key')
    expect((await runCli(['keygen', '--key-file', keyFile])).status).toBe(0)
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)
    const firstKey = readFileSync(keyFile, 'utf8').split('\n').filter((line) => line && !line.startsWith('#'))
    expect(firstKey).toHaveLength(1)
    await writeEvents(path, [sampleEvents()[0]!], firstKey[0]!)

    expect((await runCli(['keygen', '--key-file', keyFile])).status).toBe(0)
    const keys = readFileSync(keyFile, 'utf8').split('\n').filter((line) => line && !line.startsWith('#'))
    expect(keys).toHaveLength(2)
    expect(keys[1]).toBe(firstKey[0])
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)
    // A sink started with the rotated file writes with the new key; the old log still verifies.
    const newer = join(dir, 'newer.log')
    const sink = fileSink({ path: newer, keyFile })
    sink.write(sampleEvents()[1]!)
    await sink.close()
    expect(readFileSync(newer, 'utf8')).not.toContain(JSON.parse(readFileSync(path, 'utf8').split('\n').find(Boolean)!).k)
    const both = await runCli(['verify', '--key-file', keyFile, path, newer])
    expect(both.status).toBe(0)
  })
})
