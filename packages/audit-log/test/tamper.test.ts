// Each kind of tampering an attacker with write access to the file (but not the key) can do, and the
// exact line verify blames for it. The log as the attacker saves it (the sink's empty lines, one before
// each append, left out): line 1 = open record, lines 2-11 = ten events, 12 = close.
import { readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fileSink, verifyAuditLog, type VerifyResult } from '@sesame/audit-log'
import { OTHER_KEY, TEST_KEY, sampleEvents, tempDir } from './support/index.js'

let dir: string
let cleanup: () => void
let path: string
let lines: string[]

async function writeLog(file: string, key: string, count: number): Promise<string[]> {
  const sink = fileSink({ path: file, key })
  for (let i = 0; i < count; i++) sink.write({ ...sampleEvents()[i % 11]!, path: `/n/${i}` })
  await sink.close()
  return readFileSync(file, 'utf8').split('\n').filter((line) => line !== '')
}

function save(newLines: string[]): void {
  writeFileSync(path, `${newLines.join('\n')}\n`)
}

function where(result: VerifyResult): Array<[number, string]> {
  return result.problems.map((problem) => [problem.line, problem.kind])
}

beforeEach(async () => {
  ;({ dir, cleanup } = tempDir())
  path = join(dir, 'audit.log')
  lines = await writeLog(path, TEST_KEY, 10)
  expect(lines).toHaveLength(12)
  save(lines)
  expect((await verifyAuditLog(path, { key: TEST_KEY })).ok).toBe(true)
})
afterEach(() => cleanup())

describe('verify catches tampering at the right line', () => {
  it('edit: one changed character of the ciphertext', async () => {
    const line = JSON.parse(lines[4]!)
    line.c = (line.c[0] === 'A' ? 'B' : 'A') + line.c.slice(1)
    lines[4] = JSON.stringify(line)
    save(lines)
    const result = await verifyAuditLog(path, { key: TEST_KEY })
    expect(result.ok).toBe(false)
    expect(where(result)).toEqual([[5, 'unauthentic']])
    expect(result.problems[0]!.file).toBe(path)
  })

  it("edit: a changed tag fails that line, and the next line's link to it", async () => {
    const line = JSON.parse(lines[6]!)
    line.t = (line.t[0] === 'A' ? 'B' : 'A') + line.t.slice(1)
    lines[6] = JSON.stringify(line)
    save(lines)
    expect(where(await verifyAuditLog(path, { key: TEST_KEY }))).toEqual([
      [7, 'unauthentic'],
      [8, 'unauthentic'],
    ])
  })

  it('reorder: two lines swapped', async () => {
    ;[lines[4], lines[5]] = [lines[5]!, lines[4]!]
    save(lines)
    const result = await verifyAuditLog(path, { key: TEST_KEY })
    expect(where(result)).toEqual([
      [5, 'out_of_order'],
      [6, 'out_of_order'],
    ])
  })

  it('reorder: a line moved from the middle to the end of the writer segment', async () => {
    const [moved] = lines.splice(2, 1)
    lines.splice(10, 0, moved!)
    save(lines)
    const result = await verifyAuditLog(path, { key: TEST_KEY })
    expect(result.ok).toBe(false)
    expect(result.problems.map((problem) => problem.kind)).toContain('out_of_order')
    expect(result.problems.every((problem) => problem.line === 3 || problem.line === 11)).toBe(true)
  })

  it('insert: a copy of an earlier line', async () => {
    lines.splice(7, 0, lines[2]!)
    save(lines)
    const result = await verifyAuditLog(path, { key: TEST_KEY })
    expect(where(result)).toEqual([[8, 'duplicate']])
    expect(result.problems[0]!.message).toContain('line 3')
  })

  it('insert: a line forged without the key', async () => {
    const forged = JSON.parse(lines[3]!)
    forged.s = 99
    forged.c = Buffer.from('{"type":"session.login","userId":"mallory"}').toString('base64url')
    lines.splice(3, 0, JSON.stringify(forged))
    save(lines)
    expect(where(await verifyAuditLog(path, { key: TEST_KEY }))).toEqual([[4, 'unverifiable']])
  })

  it('insert: a forged line posing as an existing one, placed before it', async () => {
    const forged = JSON.parse(lines[3]!)
    forged.c = Buffer.from('{"type":"session.login","userId":"mallory"}').toString('base64url')
    lines.splice(3, 0, JSON.stringify(forged))
    save(lines)
    expect(where(await verifyAuditLog(path, { key: TEST_KEY }))).toEqual([[4, 'unauthentic']])
  })

  it('insert: a genuine line from another log written with another key', async () => {
    const foreign = await writeLog(join(dir, 'other.log'), OTHER_KEY, 3)
    lines.splice(3, 0, foreign[2]!)
    save(lines)
    const result = await verifyAuditLog(path, { key: TEST_KEY })
    expect(result.ok).toBe(false)
    expect(result.problems.map((problem) => problem.kind)).toContain('unknown_key')
    expect(result.problems.every((problem) => problem.line === 4)).toBe(true)
  })

  it('insert: a genuine line from another log under the same key', async () => {
    const foreign = await writeLog(join(dir, 'other.log'), TEST_KEY, 3)
    lines.splice(3, 0, foreign[2]!)
    save(lines)
    const result = await verifyAuditLog(path, { key: TEST_KEY })
    expect(result.ok).toBe(false)
    // A segment that starts at seq 2 (so the line cannot be authenticated) and never closes.
    expect(where(result)).toEqual([
      [4, 'unverifiable'],
      [4, 'unterminated'],
    ])
  })

  it('insert: a 10 MB line is reported by line number without being loaded whole', async () => {
    lines.splice(5, 0, `{"v":1,"w":"${'x'.repeat(10 * 1024 * 1024)}`)
    save(lines)
    const result = await verifyAuditLog(path, { key: TEST_KEY })
    expect(where(result)).toEqual([[6, 'malformed']])
    expect(result.verified).toBe(12)
  })

  it('delete: one line from the middle', async () => {
    lines.splice(5, 1)
    save(lines)
    const result = await verifyAuditLog(path, { key: TEST_KEY })
    expect(where(result)).toEqual([[6, 'missing']])
    expect(result.problems[0]!.message).toContain('between line 5 and line 6')
  })

  it('delete: two adjacent lines', async () => {
    lines.splice(4, 2)
    save(lines)
    const result = await verifyAuditLog(path, { key: TEST_KEY })
    expect(where(result)).toEqual([[5, 'missing']])
    expect(result.problems[0]!.message).toContain('2 line(s)')
  })

  it('delete: the last event, so the close record has nothing before it', async () => {
    lines.splice(10, 1)
    save(lines)
    expect(where(await verifyAuditLog(path, { key: TEST_KEY }))).toEqual([
      [10, 'unterminated'],
      [11, 'unverifiable'],
    ])
  })

  it('delete: the first line', async () => {
    lines.splice(0, 1)
    save(lines)
    expect(where(await verifyAuditLog(path, { key: TEST_KEY }))).toEqual([[1, 'missing']])
  })

  it('truncate: the last three lines cut off', async () => {
    save(lines.slice(0, 9))
    const result = await verifyAuditLog(path, { key: TEST_KEY })
    expect(where(result)).toEqual([[9, 'unterminated']])
    expect(result.problems[0]!.message).toContain('truncated after this line')
  })

  it('truncate: cut in the middle of a line', async () => {
    const bytesBefore = lines.slice(0, 7).join('\n').length + 1
    truncateSync(path, bytesBefore + 40)
    const result = await verifyAuditLog(path, { key: TEST_KEY })
    expect(where(result)).toEqual([
      [7, 'unterminated'],
      [8, 'torn'],
    ])
  })

  it('a crashed write continued on the same line (no newline between): the fragment is torn, the line after it still verifies', async () => {
    const other = await writeLog(join(dir, 'other.log'), TEST_KEY, 3)
    lines[4] = other[2]!.slice(0, 70) + lines[4]!
    save(lines)
    const result = await verifyAuditLog(path, { key: TEST_KEY })
    expect(where(result)).toEqual([[5, 'torn']])
    expect(result.problems[0]!.writer).toBe(JSON.parse(other[2]!).w)
    expect(result.verified).toBe(12)
  })

  it('blames only the tampered writer when two writers share the file', async () => {
    const shared = join(dir, 'shared.log')
    const a = fileSink({ path: shared, key: TEST_KEY })
    const b = fileSink({ path: shared, key: TEST_KEY })
    for (let i = 0; i < 5; i++) {
      a.write({ ...sampleEvents()[0]!, path: `/a/${i}` })
      await a.flush()
      b.write({ ...sampleEvents()[1]!, path: `/b/${i}` })
      await b.flush()
    }
    await a.close()
    await b.close()
    path = shared
    const all = readFileSync(shared, 'utf8').split('\n').filter((line) => line !== '')
    expect((await verifyAuditLog(shared, { key: TEST_KEY })).writers).toHaveLength(2)
    const writerB = JSON.parse(all[3]!).w
    const bLines = all.map((text, index) => [JSON.parse(text).w, index] as const).filter(([w]) => w === writerB)
    const victim = bLines[2]![1]
    all.splice(victim, 1)
    save(all)
    const result = await verifyAuditLog(shared, { key: TEST_KEY })
    expect(result.problems).toHaveLength(1)
    expect(result.problems[0]).toMatchObject({ kind: 'missing', writer: writerB, line: bLines[3]![1] })
  })
})
