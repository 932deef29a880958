// Real processes appending to real files: concurrency, external rotation, and a crash.
import { readFileSync, renameSync, statSync, truncateSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { fileSink, readAuditEvents, rotatedFiles, verifyAuditLog, type VerifyProblem } from '@sesame/audit-log'
import { TEST_KEY, ensureBuilt, sampleEvents, startWriter, tempDir, waitFor } from './support/index.js'

let dir: string
let cleanup: () => void

beforeAll(() => ensureBuilt())
beforeEach(() => ({ dir, cleanup } = tempDir()))
afterEach(() => cleanup())

function indexesOf(events: Array<{ event: { path?: string } }>, tag: string): number[] {
  return events
    .map((entry) => entry.event.path!)
    .filter((path) => path.startsWith(`/${tag}/`))
    .map((path) => Number(path.slice(tag.length + 2)))
}

const range = (count: number) => Array.from({ length: count }, (_, i) => i)

describe('several processes', () => {
  it('two processes appending 10,000 events each to one file: all 20,000 decrypt and both chains verify', async () => {
    const path = join(dir, 'audit.log')
    const writers = ['a', 'b'].map((tag) => startWriter({ path, key: TEST_KEY, count: 10_000, tag, chunk: 100, pauseMs: 2, waitForGo: true }))
    await waitFor(() => writers.every((writer) => writer.output().includes('ready')), 'both writers to open the file')
    for (const writer of writers) writer.stdin!.write('go\n')
    expect(await Promise.all(writers.map((writer) => writer.exited))).toEqual([0, 0])

    const { events, problems } = await readAuditEvents(path, { key: TEST_KEY })
    expect(problems).toEqual([])
    expect(events).toHaveLength(20_000)
    // Each process's events are all there, each exactly once, in the order it wrote them.
    expect(indexesOf(events, 'a')).toEqual(range(10_000))
    expect(indexesOf(events, 'b')).toEqual(range(10_000))
    // And the two really wrote at the same time: their batches alternate in the file.
    const switches = events.filter((entry, i) => i > 0 && entry.writer !== events[i - 1]!.writer).length
    expect(switches).toBeGreaterThan(2)

    const result = await verifyAuditLog(path, { key: TEST_KEY })
    expect(result.problems).toEqual([])
    expect(result.writers).toHaveLength(2)
    expect(result.writers.every((writer) => writer.closed)).toBe(true)
    expect(result.verified).toBe(20_004)
  })

  it('two processes rotating the same file by size: no event lost, every file verifies', async () => {
    const path = join(dir, 'audit.log')
    const writers = ['a', 'b'].map((tag) =>
      startWriter({ path, key: TEST_KEY, count: 5000, tag, chunk: 100, pauseMs: 1, waitForGo: true, sink: { maxFileBytes: 100_000 } }),
    )
    await waitFor(() => writers.every((writer) => writer.output().includes('ready')), 'both writers to open the file')
    for (const writer of writers) writer.stdin!.write('go\n')
    expect(await Promise.all(writers.map((writer) => writer.exited))).toEqual([0, 0])

    const files = [...(await rotatedFiles(path)), path]
    expect(files.length).toBeGreaterThan(5)
    const all: Array<{ event: { path?: string } }> = []
    for (const file of files) all.push(...(await readAuditEvents(file, { key: TEST_KEY })).events)
    expect(indexesOf(all, 'a').sort((x, y) => x - y)).toEqual(range(5000))
    expect(indexesOf(all, 'b').sort((x, y) => x - y)).toEqual(range(5000))
    const result = await verifyAuditLog(files, { key: TEST_KEY })
    expect(result.problems).toEqual([])
    expect(result.writers.every((segment) => segment.closed)).toBe(true)
  })

  it('three processes without pauses rotating one file with a 1 MiB limit: no file passes it by more than what the two others append in between, no event lost, every file verifies', async () => {
    const path = join(dir, 'audit.log')
    const limit = 1024 * 1024
    const batch = 128 * 1024
    const tags = ['a', 'b', 'c']
    // 100 events per event-loop turn each, never waiting for a timer.
    const writers = tags.map((tag) => startWriter({ path, key: TEST_KEY, count: 15_000, tag, chunk: 100, waitForGo: true, sink: { maxFileBytes: limit, maxBatchBytes: batch } }))
    await waitFor(() => writers.every((writer) => writer.output().includes('ready')), 'the writers to open the file')
    for (const writer of writers) writer.stdin!.write('go\n')
    expect(await Promise.all(writers.map((writer) => writer.exited))).toEqual([0, 0, 0])

    const files = [...(await rotatedFiles(path)), path]
    expect(files.length).toBeGreaterThan(10)
    // Each process checks the size right before its own append; each other one may add a batch in
    // between, and its close record when it finds the file moved (a close line is < 300 bytes).
    for (const file of files) expect(statSync(file).size).toBeLessThanOrEqual(limit + 2 * (batch + 300))
    const all: Array<{ event: { path?: string } }> = []
    for (const file of files) all.push(...(await readAuditEvents(file, { key: TEST_KEY })).events)
    for (const tag of tags) expect(indexesOf(all, tag).sort((x, y) => x - y)).toEqual(range(15_000))
    const result = await verifyAuditLog(files, { key: TEST_KEY })
    expect(result.problems).toEqual([])
    expect(result.writers.every((segment) => segment.closed)).toBe(true)
  })

  it('`mv` of the live file mid-stream loses no event: the writer finishes the old file and continues in a new one', async () => {
    const path = join(dir, 'audit.log')
    const moved = join(dir, 'audit.log.1')
    const writer = startWriter({ path, key: TEST_KEY, count: 5000, tag: 'm', chunk: 50, pauseMs: 2, report: true })
    await waitFor(() => writer.output().includes('wrote 1000\n'), 'the writer to be mid-stream')
    renameSync(path, moved)
    expect(await writer.exited).toBe(0)

    const before = await readAuditEvents(moved, { key: TEST_KEY })
    const after = await readAuditEvents(path, { key: TEST_KEY })
    expect(before.events.length).toBeGreaterThan(0)
    expect(after.events.length).toBeGreaterThan(0)
    expect([...indexesOf(before.events, 'm'), ...indexesOf(after.events, 'm')]).toEqual(range(5000))

    const result = await verifyAuditLog([moved, path], { key: TEST_KEY })
    expect(result.problems).toEqual([])
    expect(result.writers.map((segment) => [segment.file, segment.closed])).toEqual([
      [moved, true],
      [path, true],
    ])
    // The new file's segment says which segment it continues.
    const open = after.controls[0]!.control!
    expect(open).toMatchObject({ $: 'open', previous: { writer: before.controls[0]!.writer, reason: 'path replaced (moved or deleted)' } })
  })

  it('`kill -9` of one of three writers inside a large write: the other two lose nothing, and verify names the crash as a torn line', async () => {
    const path = join(dir, 'audit.log')
    const MiB = 1024 * 1024
    // Two writers appending small batches all along, until told to stop.
    const survivors = ['s1', 's2'].map((tag) => startWriter({ path, key: TEST_KEY, untilSignal: true, tag, chunk: 20, pauseMs: 5, sink: { maxFileBytes: 0 } }))
    await waitFor(() => survivors.every((writer) => writer.output().includes('ready')), 'the survivors to open the file')
    const killed: string[] = []
    let torn: VerifyProblem | undefined
    // The kill must land inside the big write(2); when it lands after it, try again with a new writer.
    for (let attempt = 0; attempt < 4 && !torn; attempt++) {
      // ~45 MB of lines in one append: 30,000 events of ~1.5 kB, queued, then one flush.
      const big = startWriter({
        path, key: TEST_KEY, count: 30_000, tag: `k${attempt}`, chunk: 1000, padding: 70, flushAfter: true,
        sink: { maxFileBytes: 0, maxBatchBytes: 256 * MiB, maxQueueBytes: 256 * MiB, maxQueueEvents: 1_000_000, flushInterval: '1h' },
      })
      await waitFor(() => big.output().includes('queued'), 'the big writer to queue its events')
      // Poll the size without yielding: the append grows the file page by page; kill it 8 MiB in.
      const before = statSync(path).size
      const deadline = Date.now() + 20_000
      while (statSync(path).size < before + 8 * MiB && Date.now() < deadline);
      big.kill('SIGKILL')
      await big.exited
      // The survivors are running (their segments are open, not problems): the big writer's is the one reported.
      const verified = await verifyAuditLog(path, { key: TEST_KEY })
      const bigWriter = verified.problems.find((problem) => problem.kind === 'unterminated' && !killed.includes(problem.writer!))?.writer
      if (bigWriter) killed.push(bigWriter)
      torn = verified.problems.find((problem) => problem.kind === 'torn' && problem.writer === bigWriter)
    }
    expect(torn, 'a kill inside the big write').toBeDefined()
    // Let the survivors append after the torn line, then stop them.
    await new Promise((resolve) => setTimeout(resolve, 300))
    for (const writer of survivors) writer.kill('SIGTERM')
    expect(await Promise.all(survivors.map((writer) => writer.exited))).toEqual([0, 0])
    const written = survivors.map((writer) => Number(/done (\d+)/.exec(writer.output())![1]))

    // Every event each survivor wrote is there, once, in order.
    const { events } = await readAuditEvents(path, { key: TEST_KEY })
    expect(indexesOf(events, 's1')).toEqual(range(written[0]!))
    expect(indexesOf(events, 's2')).toEqual(range(written[1]!))
    // And they did write after the crash: lines of theirs follow the torn line.
    expect(events.some((entry) => entry.line > torn!.line && entry.writer !== torn!.writer)).toBe(true)

    // verify: the crashed writer's segment ends in a torn line; nothing is called a deletion or an edit.
    const result = await verifyAuditLog(path, { key: TEST_KEY })
    const kinds = result.problems.map((problem) => problem.kind)
    expect(kinds.every((kind) => kind === 'torn' || kind === 'unterminated')).toBe(true)
    expect(result.problems.every((problem) => killed.includes(problem.writer!))).toBe(true)
    const crash = result.problems.find((problem) => problem.kind === 'unterminated' && problem.writer === torn!.writer)!
    expect(crash.message).toContain(`crashed mid-write: its segment ends in the torn line ${torn!.line}`)
    expect(result.writers.filter((segment) => segment.closed)).toHaveLength(2)
  }, 120_000)

  it('`kill -9` mid-stream: intact lines verify, the torn line is reported, the next start begins a new segment', async () => {
    const path = join(dir, 'audit.log')
    const writer = startWriter({ path, key: TEST_KEY, forever: true, tag: 'k', chunk: 2000, padding: 20, sink: { maxBatchBytes: 4 * 1024 * 1024, maxFileBytes: 0 } })
    await waitFor(() => {
      try {
        return statSync(path).size > 4 * 1024 * 1024
      } catch {
        return false
      }
    }, 'the writer to have written 4 MiB')
    writer.kill('SIGKILL')
    await writer.exited

    let text = readFileSync(path, 'utf8')
    if (text.endsWith('\n')) {
      // The kill landed between two write() calls this time. Leave what a kill inside write() leaves:
      // the first part of the next line (the kernel stops a write at a page boundary on SIGKILL).
      const lastLine = text.slice(text.lastIndexOf('\n', text.length - 2) + 1)
      truncateSync(path, text.length - Math.floor(lastLine.length / 2))
      text = readFileSync(path, 'utf8')
    }
    // Physical lines, counting the empty line before each append, as verify numbers them.
    const complete = text.slice(0, text.lastIndexOf('\n')).split('\n')
    const tornLine = complete.length + 1
    const lastWholeLine = complete.findLastIndex((line) => line !== '') + 1
    const wholeLines = complete.filter((line) => line !== '').length

    const crashed = await verifyAuditLog(path, { key: TEST_KEY })
    expect(crashed.verified).toBe(wholeLines)
    expect(crashed.problems.map((problem) => [problem.kind, problem.line])).toEqual([
      ['unterminated', lastWholeLine],
      ['torn', tornLine],
    ])

    // The next start: a new writer segment that begins on a fresh line, leaving the torn one alone
    // (and still reported as torn, now that a newline follows it).
    const next = fileSink({ path, key: TEST_KEY })
    for (const event of sampleEvents()) next.write(event)
    await next.close()
    const after = await verifyAuditLog(path, { key: TEST_KEY })
    expect(after.problems.map((problem) => [problem.kind, problem.line])).toEqual([
      ['unterminated', lastWholeLine],
      ['torn', tornLine],
    ])
    expect(after.verified).toBe(wholeLines + sampleEvents().length + 2)
    const { events } = await readAuditEvents(path, { key: TEST_KEY })
    expect(events.slice(-sampleEvents().length).map((entry) => entry.event)).toEqual(sampleEvents())
  })
})
