// The queue between write() and the disk: off the request path, bounded, and honest about losses.
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fileSink, readAuditEvents, verifyAuditLog } from '@sesame/audit-log'
import { TEST_KEY, sampleEvents, tempDir } from './support/index.js'

let dir: string
let cleanup: () => void
let path: string

beforeEach(() => {
  ;({ dir, cleanup } = tempDir())
  path = join(dir, 'audit.log')
})
afterEach(() => cleanup())

const event = (i: number) => ({ ...sampleEvents()[0]!, path: `/q/${i}` })

describe('fileSink queue', () => {
  it('write() only enqueues: nothing reaches the file until the event loop is free; flush() waits for the disk', async () => {
    const sink = fileSink({ path, key: TEST_KEY })
    const sizeBefore = statSync(path).size
    for (let i = 0; i < 10; i++) sink.write(event(i))
    expect(statSync(path).size).toBe(sizeBefore)
    await sink.flush()
    // Read with a separate reader right after flush(): every event is in the file.
    const { events } = await readAuditEvents(path, { key: TEST_KEY })
    expect(events.map((entry) => entry.event.path)).toEqual(Array.from({ length: 10 }, (_, i) => `/q/${i}`))
    await sink.close()
  })

  it('flushInterval: events wait for their window, and flush() and close() do not wait for it', async () => {
    const sink = fileSink({ path, key: TEST_KEY, flushInterval: '1h' })
    const sizeBefore = statSync(path).size
    for (let i = 0; i < 5; i++) sink.write(event(i))
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setImmediate(resolve))
    expect(statSync(path).size).toBe(sizeBefore)
    await sink.flush()
    expect((await readAuditEvents(path, { key: TEST_KEY })).events).toHaveLength(5)
    for (let i = 5; i < 10; i++) sink.write(event(i))
    await sink.close()
    const { events } = await readAuditEvents(path, { key: TEST_KEY })
    expect(events.map((entry) => entry.event.path)).toEqual(Array.from({ length: 10 }, (_, i) => `/q/${i}`))
    expect((await verifyAuditLog(path, { key: TEST_KEY })).ok).toBe(true)
  })

  it('rejects a nonsense flushInterval at start-up', () => {
    expect(() => fileSink({ path, key: TEST_KEY, flushInterval: 'soon' })).toThrow(expect.objectContaining({ code: 'AUDIT_CONFIG_INVALID' }))
  })

  it("overflow 'drop': events beyond the bound are counted, and the count is logged when writing resumes", async () => {
    const sink = fileSink({ path, key: TEST_KEY, maxQueueEvents: 100 })
    for (let i = 0; i < 1000; i++) sink.write(event(i))
    expect(sink.stats()).toMatchObject({ queuedEvents: 100, dropped: 900 })
    await sink.flush()
    sink.write(event(1000))
    await sink.close()

    const { events, controls } = await readAuditEvents(path, { key: TEST_KEY })
    expect(events.map((entry) => entry.event.path)).toEqual([...Array.from({ length: 100 }, (_, i) => `/q/${i}`), '/q/1000'])
    const dropped = controls.find((line) => line.control?.$ === 'dropped')!
    expect(dropped.control).toMatchObject({ $: 'dropped', count: 900, reason: 'queue_full' })
    // At its place: after the 100 kept events, right before the one written after the gap.
    const records = [...events.map((entry) => ({ line: entry.line, what: entry.event.path })), ...controls.map((line) => ({ line: line.line, what: line.control!.$ }))]
    const inOrder = records.sort((a, b) => a.line - b.line).map((record) => record.what)
    expect(inOrder.slice(inOrder.indexOf('/q/99'), inOrder.indexOf('/q/1000') + 1)).toEqual(['/q/99', 'dropped', '/q/1000'])
    expect((await verifyAuditLog(path, { key: TEST_KEY })).ok).toBe(true)
  })

  it('the queue is also bounded by bytes', async () => {
    const sink = fileSink({ path, key: TEST_KEY, maxQueueBytes: 10_000 })
    for (let i = 0; i < 1000; i++) sink.write({ ...event(i), userAgent: 'x'.repeat(400) })
    const { queuedEvents, queuedBytes, dropped } = sink.stats()
    expect(queuedBytes).toBeLessThanOrEqual(10_000)
    expect(queuedEvents + dropped).toBe(1000)
    expect(dropped).toBeGreaterThan(900)
    await sink.close()
  })

  it("overflow 'block': a full queue makes write() wait for the disk instead of dropping", async () => {
    const sink = fileSink({ path, key: TEST_KEY, maxQueueEvents: 100, overflow: 'block' })
    for (let i = 0; i < 5000; i++) sink.write(event(i))
    expect(sink.stats().dropped).toBe(0)
    expect(sink.stats().queuedEvents).toBeLessThanOrEqual(100)
    await sink.close()
    const { events } = await readAuditEvents(path, { key: TEST_KEY })
    expect(events.map((entry) => entry.event.path)).toEqual(Array.from({ length: 5000 }, (_, i) => `/q/${i}`))
    expect((await verifyAuditLog(path, { key: TEST_KEY })).ok).toBe(true)
  })

  it('a failing disk (/dev/full): errors go to onError, write() never throws, memory stays bounded, flush() rejects', async () => {
    const errors: Array<{ code?: string; cause?: { code?: string } }> = []
    const sink = fileSink({ path: '/dev/full', key: TEST_KEY, maxQueueEvents: 100, retryDelay: 10, onError: (error) => errors.push(error as never) })
    for (let i = 0; i < 1000; i++) expect(() => sink.write(event(i))).not.toThrow()
    await expect(sink.flush()).rejects.toMatchObject({ code: 'AUDIT_WRITE_FAILED' })
    expect(errors[0]).toMatchObject({ code: 'AUDIT_WRITE_FAILED', cause: { code: 'ENOSPC' } })
    // Still failing while more arrives: the queue does not grow past its bound.
    for (let i = 0; i < 1000; i++) sink.write(event(i))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(sink.stats().queuedEvents).toBeLessThanOrEqual(101)
    expect(sink.stats().dropped).toBeGreaterThanOrEqual(1800)
    await expect(sink.close()).rejects.toMatchObject({ code: 'AUDIT_WRITE_FAILED' })
  })

  it('reports a write after close() once, without throwing', async () => {
    const errors: unknown[] = []
    const sink = fileSink({ path, key: TEST_KEY, onError: (error) => errors.push(error) })
    await sink.close()
    sink.write(event(1))
    sink.write(event(2))
    expect(errors).toHaveLength(1)
    expect(readFileSync(path, 'utf8')).toBe('')
  })
})
