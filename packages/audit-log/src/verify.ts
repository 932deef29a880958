// verifyAuditLog: every line decrypts after its predecessor, and every writer's lines form one
// unbroken chain from its open record (seq 0) to its close record, in file order. Each problem names
// the file and the line.
//
// What each tampering looks like here:
//   edited line      -> 'unauthentic' on that line (and on the next when its tag was edited)
//   inserted line    -> 'unknown_key' / 'unauthentic' / 'unverifiable' (forged or foreign), 'duplicate' (a copy)
//   reordered lines  -> 'out_of_order' on the lines that moved
//   deleted lines    -> 'missing' on the next line of that writer
//   truncated file   -> 'torn' (cut inside a line) and 'unterminated' (cut between lines)
//   crashed writer   -> 'torn' on the line it was writing and 'unterminated' naming the crash
// A segment whose writer still holds the file open (live.ts) is open, not a problem.

import type { RawLine } from './format.js'
import { LiveWriters } from './live.js'
import { keyringFor, LineDecoder, readTextLines, type DecodedLine, type RawTextLine, type ReadOptions } from './reader.js'

export type VerifyProblemKind =
  | 'torn'
  | 'malformed'
  | 'unknown_key'
  | 'unauthentic'
  | 'unverifiable'
  | 'missing'
  | 'out_of_order'
  | 'duplicate'
  | 'after_close'
  | 'unterminated'

export interface VerifyProblem {
  file: string
  line: number
  kind: VerifyProblemKind
  writer?: string
  message: string
}

export interface VerifyOptions extends ReadOptions {
  /**
   * Treat every segment without a close record as open, not as a problem. Default false: a segment
   * is open only when its writer still holds the file open (Linux, same host, a process verify may
   * look at); otherwise it is reported, because a file cut between two lines looks exactly like that.
   */
  allowOpen?: boolean
}

export interface VerifyResult {
  ok: boolean
  files: string[]
  /** Non-empty lines read. */
  lines: number
  /** Lines that decrypted and whose chain link checked. */
  verified: number
  /** Writer segments seen, with their first and last line. */
  writers: Array<{ file: string; writer: string; firstLine: number; lastLine: number; lines: number; closed: boolean }>
  problems: VerifyProblem[]
  /**
   * Segments without a close record that are not problems: their writer is still running and holds
   * the file open (or allowOpen is set). Also the torn last line of such a writer: a write in progress.
   */
  open: VerifyProblem[]
}

interface ChainEntry {
  line: number
  seq: number
  tag: Buffer
  /** true: decrypts after its predecessor; false: does not; undefined: no predecessor in the file. */
  authentic: boolean | undefined
  /** A problem was already reported for this line (unknown key). */
  reported: boolean
  closes: boolean
  /** The predecessor's tag this line authenticated against. */
  previousTag?: Buffer
  /** Waiting for its predecessor, which may come later in the file (reordered lines). */
  waiting?: { parsed: RawLine; decoded: DecodedLine }
}

interface WriterLines {
  entries: ChainEntry[]
  /** The distinct tags of the lines holding each sequence number (more than one only when tampered). */
  tags: Map<number, Buffer[]>
  /** From the segment's authentic open record: the writing process. */
  pid?: number
  host?: string
  /** The last torn line that names this writer. */
  tornLine?: number
}

export async function verifyAuditLog(files: string | string[], options: VerifyOptions = {}): Promise<VerifyResult> {
  const list = Array.isArray(files) ? files : [files]
  const decoder = new LineDecoder(keyringFor(options, list))
  const result: VerifyResult = { ok: true, files: list, lines: 0, verified: 0, writers: [], problems: [], open: [] }
  for (const file of list) await verifyFile(file, decoder, options, result)
  result.problems.sort((a, b) => (a.file === b.file ? a.line - b.line : list.indexOf(a.file) - list.indexOf(b.file)))
  result.ok = result.problems.length === 0
  return result
}

async function verifyFile(file: string, decoder: LineDecoder, options: VerifyOptions, result: VerifyResult): Promise<void> {
  const writers = new Map<string, WriterLines>()
  /** Try the line against each candidate predecessor tag (normally exactly one). */
  const authenticate = (entry: ChainEntry, parsed: RawLine, decoded: DecodedLine, candidates: Array<Buffer | undefined>) => {
    const writer = writers.get(parsed.w)!
    for (const previousTag of candidates) {
      decoded.problem = undefined
      decoder.open(parsed, previousTag, decoded)
      const problem = decoded.problem as DecodedLine['problem']
      if (problem?.kind === 'unknown_key') {
        result.problems.push({ file, line: entry.line, kind: 'unknown_key', writer: parsed.w, message: problem.message })
        entry.reported = true
        entry.authentic = false
        return
      }
      if (!problem) {
        entry.authentic = true
        if (previousTag) entry.previousTag = previousTag
        entry.closes = decoded.control?.$ === 'close'
        if (decoded.control?.$ === 'open' && entry.seq === 0) {
          writer.pid = decoded.control.pid
          if (decoded.control.host !== undefined) writer.host = decoded.control.host
        }
        return
      }
    }
    entry.authentic = false
  }

  /** Lines that are not whole lines; a torn last line may be a write in progress, decided at the end. */
  const unreadable: Array<{ raw: RawTextLine; problem: VerifyProblem }> = []
  let lastRaw: RawTextLine | undefined
  for await (const raw of readTextLines(file)) {
    lastRaw = raw
    result.lines++
    const { result: decoded, parsed } = decoder.parse(file, raw)
    if (!parsed) {
      const problem = decoded.problem!
      unreadable.push({ raw, problem: { file, line: decoded.line, kind: problem.kind, message: problem.message, ...(decoded.writer ? { writer: decoded.writer } : {}) } })
      continue
    }
    let lines = writers.get(parsed.w)
    if (!lines) writers.set(parsed.w, (lines = { entries: [], tags: new Map() }))
    const entry: ChainEntry = { line: decoded.line, seq: parsed.s, tag: Buffer.from(parsed.t, 'base64url'), authentic: undefined, reported: false, closes: false }
    const candidates = parsed.s === 0 ? [undefined] : lines.tags.get(parsed.s - 1)
    const same = lines.tags.get(parsed.s)
    if (!same) lines.tags.set(parsed.s, [entry.tag])
    else if (!same.some((tag) => tag.equals(entry.tag))) same.push(entry.tag)
    if (candidates) authenticate(entry, parsed, decoded, candidates)
    else entry.waiting = { parsed, decoded }
    lines.entries.push(entry)
  }

  const live = new LiveWriters(file)
  const isLive = (lines: WriterLines | undefined) => lines !== undefined && live.holdsFile(lines.pid, lines.host)
  for (const { raw, problem } of unreadable) {
    const lines = problem.writer === undefined ? undefined : writers.get(problem.writer)
    if (problem.kind === 'torn' && lines) lines.tornLine = problem.line
    // The end of the file, torn, from a writer still writing: its append is in progress.
    if (problem.kind === 'torn' && raw === lastRaw && !raw.complete && isLive(lines)) {
      result.open.push({ ...problem, message: `writer ${problem.writer} is still writing this line` })
    } else {
      result.problems.push(problem)
    }
  }

  for (const [writer, lines] of writers) {
    for (const entry of lines.entries) {
      if (!entry.waiting) continue
      const { parsed, decoded } = entry.waiting
      entry.waiting = undefined
      const candidates = lines.tags.get(entry.seq - 1)
      if (candidates) authenticate(entry, parsed, decoded, candidates)
      else if (!decoder.keyring.byId.has(parsed.k)) authenticate(entry, parsed, decoded, [undefined])
    }
    verifyChain(file, writer, lines, () => (isLive(lines) ? 'live' : options.allowOpen ? 'allowed' : 'closed'), result)
  }
}

/**
 * `unclosed()`: whether a segment without a close record is fine: 'live' (its writer still holds the
 * file open), 'allowed' (allowOpen), or 'closed' (it must have its close record).
 */
function verifyChain(file: string, writer: string, lines: WriterLines, unclosed: () => 'live' | 'allowed' | 'closed', result: VerifyResult): void {
  const { entries } = lines
  const report = (line: number, kind: VerifyProblemKind, message: string) => result.problems.push({ file, line, kind, writer, message })
  // A line whose predecessor is gone cannot be decrypted, but when the next line authenticates
  // against its tag, that tag (and so the line) is genuine: only the line before it is missing.
  const vouchedTags = new Map<number, Buffer[]>()
  for (const entry of entries) {
    if (entry.authentic && entry.previousTag) {
      const list = vouchedTags.get(entry.seq - 1) ?? []
      list.push(entry.previousTag)
      vouchedTags.set(entry.seq - 1, list)
    }
  }
  const genuine = (entry: ChainEntry) =>
    entry.authentic === true || (entry.authentic === undefined && (vouchedTags.get(entry.seq)?.some((tag) => tag.equals(entry.tag)) ?? false))
  // Where each sequence number first appears in a genuine line, to tell a moved line from a deleted one.
  const firstLineOfSeq = new Map<number, number>()
  for (const entry of entries) if (genuine(entry) && !firstLineOfSeq.has(entry.seq)) firstLineOfSeq.set(entry.seq, entry.line)

  let expected = 0
  let previousLine: number | undefined
  let closedAt: number | undefined
  let verified = 0
  for (const entry of entries) {
    if (closedAt !== undefined) {
      report(entry.line, 'after_close', `line of writer ${writer} (seq ${entry.seq}) after the writer closed its segment at line ${closedAt}: it was inserted or moved`)
      continue
    }
    if (!genuine(entry)) {
      if (!entry.reported) {
        if (entry.authentic === false) {
          report(entry.line, 'unauthentic', `does not authenticate (writer ${writer}, seq ${entry.seq}): this line was edited or forged, or the tag of the line before it was edited`)
        } else {
          report(entry.line, 'unverifiable', `cannot be authenticated: no line of writer ${writer} holds seq ${entry.seq - 1}, the line before it in the chain: it was inserted, or the lines around it were deleted`)
        }
      }
      // Step over an edited line in its place, so that only it is blamed and not the lines after it.
      // (When a genuine line with this seq exists, this one was inserted: nothing to step over.)
      if (entry.authentic === false && entry.seq === expected && !firstLineOfSeq.has(entry.seq)) {
        expected++
        previousLine = entry.line
      }
      continue
    }
    const first = firstLineOfSeq.get(entry.seq)!
    if (first !== entry.line) {
      report(entry.line, 'duplicate', `repeats seq ${entry.seq} of writer ${writer} already at line ${first}: a copied line`)
      continue
    }
    if (entry.seq === expected) {
      verified++
    } else if (entry.seq > expected) {
      const movedLine = firstLaterLine(firstLineOfSeq, expected, entry.seq - 1, entry.line)
      if (movedLine !== undefined) {
        report(entry.line, 'out_of_order', `seq ${entry.seq} of writer ${writer} comes before seq ${expected} (at line ${movedLine}): lines were reordered`)
      } else {
        const range = entry.seq - 1 === expected ? `seq ${expected}` : `seq ${expected}-${entry.seq - 1}`
        const where = previousLine === undefined ? `at the start of the segment, before line ${entry.line}` : `between line ${previousLine} and line ${entry.line}`
        report(entry.line, 'missing', `${entry.seq - expected} line(s) of writer ${writer} (${range}) missing ${where}: deleted`)
      }
    } else {
      report(entry.line, 'out_of_order', `seq ${entry.seq} of writer ${writer} appears after seq ${expected - 1}${previousLine ? ` (line ${previousLine})` : ''}: lines were reordered`)
      continue
    }
    expected = entry.seq + 1
    previousLine = entry.line
    if (entry.closes) closedAt = entry.line
  }
  result.verified += verified
  const last = entries[entries.length - 1]!
  result.writers.push({ file, writer, firstLine: entries[0]!.line, lastLine: last.line, lines: entries.length, closed: closedAt !== undefined })
  if (closedAt === undefined) {
    const expect = unclosed()
    const line = previousLine ?? last.line
    let message: string
    if (expect === 'live') {
      message = `writer ${writer}${lines.pid === undefined ? '' : ` (pid ${lines.pid})`} is still running: its last batch is not closed yet (last line so far: ${line})`
    } else if (expect === 'allowed') {
      message = `writer ${writer} has no close record after line ${line} (accepted: allowOpen)`
    } else if (lines.tornLine !== undefined && lines.tornLine > last.line) {
      message = `writer ${writer} crashed mid-write: its segment ends in the torn line ${lines.tornLine} and has no close record (lines up to ${line} verified)`
    } else {
      message = `writer ${writer} has no close record after line ${line}: the file was truncated after this line, or the writer crashed${lines.pid === undefined ? '' : ` (pid ${lines.pid} is not seen holding the file open)`}`
    }
    const problem: VerifyProblem = { file, line, kind: 'unterminated', writer, message }
    if (expect !== 'closed') result.open.push(problem)
    else result.problems.push(problem)
  }
}

/** The first line, after `after`, holding a sequence number in [from, to]. */
function firstLaterLine(firstLineOfSeq: Map<number, number>, from: number, to: number, after: number): number | undefined {
  let found: number | undefined
  // Bounded by the entries we have, not by the (attacker-chosen) width of the gap.
  if (to - from > firstLineOfSeq.size) {
    for (const [seq, line] of firstLineOfSeq) if (seq >= from && seq <= to && line > after && (found === undefined || line < found)) found = line
    return found
  }
  for (let seq = from; seq <= to; seq++) {
    const line = firstLineOfSeq.get(seq)
    if (line !== undefined && line > after && (found === undefined || line < found)) found = line
  }
  return found
}
