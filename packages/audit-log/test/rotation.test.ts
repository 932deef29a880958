// The sink's own rotation by size and age, and retention of rotated files.
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fileSink, readAuditEvents, rotatedFiles, verifyAuditLog } from '@sesame/audit-log'
import { TEST_KEY, sampleEvents, tempDir } from './support/index.js'

let dir: string
let cleanup: () => void
let path: string

beforeEach(() => {
  ;({ dir, cleanup } = tempDir())
  path = join(dir, 'audit.log')
})
afterEach(() => cleanup())

const DAY = 86_400_000
const event = (i: number) => ({ ...sampleEvents()[2]!, path: `/r/${i}` })

describe('rotation and retention', () => {
  it('rotates by size; the rotated files and the live file together hold every event and verify', async () => {
    const sink = fileSink({ path, key: TEST_KEY, maxFileBytes: 20_000 })
    for (let i = 0; i < 500; i++) {
      sink.write(event(i))
      if (i % 20 === 19) await sink.flush()
    }
    await sink.close()
    const rotated = await rotatedFiles(path)
    expect(rotated.length).toBeGreaterThanOrEqual(5)
    const files = [...rotated, path]
    const paths: string[] = []
    for (const file of files) paths.push(...(await readAuditEvents(file, { key: TEST_KEY })).events.map((entry) => entry.event.path!))
    expect(paths).toEqual(Array.from({ length: 500 }, (_, i) => `/r/${i}`))
    const result = await verifyAuditLog(files, { key: TEST_KEY })
    expect(result.problems).toEqual([])
    expect(result.writers.every((segment) => segment.closed)).toBe(true)
  })

  it('at full write speed with a 1 MiB limit, every file stays within the limit and every event is in one of them', async () => {
    const limit = 1024 * 1024
    const sink = fileSink({ path, key: TEST_KEY, maxFileBytes: limit })
    const total = 30_000
    // As fast as the sink takes them: bursts of 1,000 events, yielding only so the drain can run.
    for (let i = 0; i < total; i++) {
      sink.write({ ...event(i), userAgent: `Mozilla/5.0 (X11; Linux x86_64) full-speed ${i}` })
      if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve))
    }
    await sink.close()
    expect(sink.stats()).toMatchObject({ dropped: 0, written: total })
    const files = [...(await rotatedFiles(path)), path]
    expect(files.length).toBeGreaterThanOrEqual(10)
    const sizes = files.map((file) => statSync(file).size)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(limit)
    // Rotated files are full (within the last line and the room kept for the close record).
    for (const size of sizes.slice(0, -1)) expect(size).toBeGreaterThan(limit - 2000)
    const paths: string[] = []
    for (const file of files) {
      paths.push(...(await readAuditEvents(file, { key: TEST_KEY })).events.map((entry) => entry.event.path!))
      const result = await verifyAuditLog(file, { key: TEST_KEY })
      expect(result.problems).toEqual([])
      expect(result.writers.every((segment) => segment.closed)).toBe(true)
    }
    expect(paths).toEqual(Array.from({ length: total }, (_, i) => `/r/${i}`))
  })

  it('rotates by age (injected clock)', async () => {
    let now = Date.now()
    const sink = fileSink({ path, key: TEST_KEY, maxFileAge: '1d', now: () => now })
    sink.write(event(1))
    await sink.flush()
    now += DAY / 2
    sink.write(event(2))
    await sink.flush()
    expect(await rotatedFiles(path)).toHaveLength(0)
    now += DAY
    sink.write(event(3))
    await sink.close()
    const rotated = await rotatedFiles(path)
    expect(rotated).toHaveLength(1)
    expect((await readAuditEvents(rotated[0]!, { key: TEST_KEY })).events.map((entry) => entry.event.path)).toEqual(['/r/1', '/r/2'])
    expect((await readAuditEvents(path, { key: TEST_KEY })).events.map((entry) => entry.event.path)).toEqual(['/r/3'])
  })

  it('deletes rotated files older than the retention (default 90 days), and nothing else', async () => {
    const now = Date.now()
    const old = `${path}.20200101T000000000Z-aaaaaa`
    const recent = `${path}.20261101T000000000Z-bbbbbb`
    const foreign = `${path}.1`
    for (const file of [old, recent, foreign]) writeFileSync(file, 'x\n')
    const ago = (days: number) => (now - days * DAY) / 1000
    utimesSync(old, ago(91), ago(91))
    utimesSync(recent, ago(89), ago(89))
    utimesSync(foreign, ago(400), ago(400))

    const sink = fileSink({ path, key: TEST_KEY, now: () => now })
    await sink.flush()
    expect(existsSync(old)).toBe(false)
    expect(existsSync(recent)).toBe(true)
    expect(existsSync(foreign)).toBe(true)
    await sink.close()
  })

  it('retention 0 keeps rotated files forever', async () => {
    const old = `${path}.20200101T000000000Z-aaaaaa`
    writeFileSync(old, 'x\n')
    utimesSync(old, 0, 0)
    const sink = fileSink({ path, key: TEST_KEY, retention: 0 })
    await sink.close()
    expect(readdirSync(dir)).toContain('audit.log.20200101T000000000Z-aaaaaa')
  })

  it('rejects a nonsense duration at start-up', () => {
    expect(() => fileSink({ path, key: TEST_KEY, retention: '90 days please' })).toThrow(expect.objectContaining({ code: 'AUDIT_CONFIG_INVALID' }))
  })
})
