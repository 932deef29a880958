import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fileSink, readAuditEvents, verifyAuditLog, generateKey, type AuditKeyFileInsecure } from '@sesame/audit-log'
import { OTHER_KEY, TEST_KEY, sampleEvents, tempDir } from './support/index.js'

let dir: string
let cleanup: () => void
const savedEnv = process.env.SESAME_AUDIT_KEY

beforeEach(() => {
  ;({ dir, cleanup } = tempDir())
  delete process.env.SESAME_AUDIT_KEY
})
afterEach(() => {
  cleanup()
  if (savedEnv === undefined) delete process.env.SESAME_AUDIT_KEY
  else process.env.SESAME_AUDIT_KEY = savedEnv
})

describe('fileSink round trip', () => {
  it('writes every event type and reads each back unchanged, in order', async () => {
    const path = join(dir, 'audit.log')
    const sink = fileSink({ path, key: TEST_KEY })
    const events = sampleEvents()
    for (const event of events) sink.write(event)
    await sink.close()

    const { events: read, problems } = await readAuditEvents(path, { key: TEST_KEY })
    expect(problems).toEqual([])
    expect(read.map((entry) => entry.event)).toEqual(events)
    const result = await verifyAuditLog(path, { key: TEST_KEY })
    expect(result.problems).toEqual([])
    expect(result.ok).toBe(true)
    expect(result.verified).toBe(events.length + 2) // plus the segment's open and close records
  })

  it('keeps event contents out of the file: no user id, path or user agent in clear text', async () => {
    const path = join(dir, 'audit.log')
    const sink = fileSink({ path, key: TEST_KEY })
    sink.write({ type: 'session.login', at: new Date().toISOString(), sessionRef: 'ref-xyz', userId: 'alice@example.com', path: '/secret-admin', userAgent: 'CanaryAgent/1.0' })
    await sink.close()
    const text = readFileSync(path, 'utf8')
    for (const clear of ['alice@example.com', 'secret-admin', 'CanaryAgent', 'session.login', 'ref-xyz']) expect(text).not.toContain(clear)
    expect(statSync(path).mode & 0o777).toBe(0o600)
  })

  it('clips client-derived fields to maxFieldLength', async () => {
    const path = join(dir, 'audit.log')
    const sink = fileSink({ path, key: TEST_KEY, maxFieldLength: 64 })
    sink.write({ type: 'session.rejected', at: new Date().toISOString(), sessionRef: 'r', userAgent: 'A'.repeat(100_000), path: `/${'p'.repeat(5000)}`, userId: 'u'.repeat(300) })
    await sink.close()
    const { events } = await readAuditEvents(path, { key: TEST_KEY })
    const event = events[0]!.event
    expect(event.userAgent).toBe('A'.repeat(64))
    expect(event.path!.length).toBe(64)
    expect(event.userId!.length).toBe(64)
    expect(readFileSync(path).length).toBeLessThan(5000)
  })

  it("cannot be made to write a fake control record: an event's `$` property is dropped", async () => {
    const path = join(dir, 'audit.log')
    const sink = fileSink({ path, key: TEST_KEY })
    sink.write({ ...sampleEvents()[0]!, $: 'close' } as never)
    sink.write(sampleEvents()[1]!)
    await sink.close()
    const { events } = await readAuditEvents(path, { key: TEST_KEY })
    expect(events.map((entry) => entry.event)).toEqual([sampleEvents()[0], sampleEvents()[1]])
    expect((await verifyAuditLog(path, { key: TEST_KEY })).ok).toBe(true)
  })

  it('never throws from write(), even for an event that cannot be serialized', async () => {
    const errors: unknown[] = []
    const sink = fileSink({ path: join(dir, 'audit.log'), key: TEST_KEY, onError: (error) => errors.push(error) })
    const cyclic: Record<string, unknown> = { type: 'session.created', at: 'x', sessionRef: 'r' }
    cyclic.self = cyclic
    expect(() => sink.write(cyclic as never)).not.toThrow()
    expect(errors).toHaveLength(1)
    await sink.close()
  })
})

describe('keys', () => {
  it('takes the key from SESAME_AUDIT_KEY when no key option is given', async () => {
    process.env.SESAME_AUDIT_KEY = TEST_KEY
    const path = join(dir, 'audit.log')
    const sink = fileSink({ path })
    sink.write(sampleEvents()[0]!)
    await sink.close()
    expect(existsSync(join(dir, '.sesame-audit'))).toBe(false)
    expect((await verifyAuditLog(path, { key: TEST_KEY })).ok).toBe(true)
    expect((await verifyAuditLog(path, { key: OTHER_KEY })).ok).toBe(false)
  })

  it('generates a key file with mode 0600 in a 0700 directory, and reuses it on the next start', async () => {
    const path = join(dir, 'logs', 'audit.log')
    const first = fileSink({ path })
    first.write(sampleEvents()[0]!)
    await first.close()
    const keyFile = join(dir, 'logs', '.sesame-audit', 'key')
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, 'logs', '.sesame-audit')).mode & 0o777).toBe(0o700)
    const keyText = readFileSync(keyFile, 'utf8')

    const second = fileSink({ path })
    expect(second.keyId).toBe(first.keyId)
    second.write(sampleEvents()[1]!)
    await second.close()
    expect(readFileSync(keyFile, 'utf8')).toBe(keyText)
    const result = await verifyAuditLog(path, { keyFile })
    expect(result.ok).toBe(true)
    // Readers find that key by themselves when given none.
    expect((await verifyAuditLog(path)).ok).toBe(true)
    expect((await readAuditEvents(path)).events.map((entry) => entry.event)).toEqual(sampleEvents().slice(0, 2))
    expect(result.writers).toHaveLength(2)
  })

  it('refuses a key file with mode 0644, saying how to fix it', () => {
    const keyFile = join(dir, 'key')
    writeFileSync(keyFile, `${generateKey()}\n`, { mode: 0o644 })
    chmodSync(keyFile, 0o644)
    let error: AuditKeyFileInsecure | undefined
    try {
      fileSink({ path: join(dir, 'audit.log'), keyFile })
    } catch (caught) {
      error = caught as AuditKeyFileInsecure
    }
    expect(error?.code).toBe('AUDIT_KEY_FILE_INSECURE')
    expect(error?.message).toContain(`chmod 600 ${keyFile}`)
    expect(existsSync(join(dir, 'audit.log'))).toBe(false)
  })

  it('refuses a malformed key with a typed error that does not echo it', () => {
    expect(() => fileSink({ path: join(dir, 'audit.log'), key: 'not-a-key-secret-value' })).toThrow(
      expect.objectContaining({ code: 'AUDIT_KEY_INVALID', message: expect.not.stringContaining('not-a-key-secret-value') }),
    )
  })

  it('rotates keys: new lines use the new key, the old file stays readable with the old key listed', async () => {
    const oldPath = join(dir, 'old.log')
    const before = fileSink({ path: oldPath, key: OTHER_KEY })
    before.write(sampleEvents()[0]!)
    await before.close()

    const path = join(dir, 'audit.log')
    const after = fileSink({ path, key: [TEST_KEY, OTHER_KEY] })
    after.write(sampleEvents()[1]!)
    await after.close()
    expect(after.keyId).not.toBe(before.keyId)
    expect(readFileSync(path, 'utf8')).toContain(`"k":"${after.keyId}"`)
    expect(readFileSync(path, 'utf8')).not.toContain(`"k":"${before.keyId}"`)

    // Reading both files needs both keys; with only the new one, the old file names the missing key id.
    expect((await verifyAuditLog([oldPath, path], { key: [TEST_KEY, OTHER_KEY] })).ok).toBe(true)
    const newOnly = await verifyAuditLog([oldPath, path], { key: TEST_KEY })
    expect(newOnly.ok).toBe(false)
    // Line 2: every append starts with a newline, so line 1 is empty.
    expect(newOnly.problems[0]).toMatchObject({ file: oldPath, line: 2, kind: 'unknown_key' })
    expect(newOnly.problems[0]!.message).toContain(before.keyId)
  })
})
