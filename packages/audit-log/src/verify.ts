// verifyAuditLog: every line decrypts, and every writer's lines form one unbroken chain from its open
// record (seq 0) to its close record, in file order. Each problem names the file and the line.
//
// What each tampering looks like here:
//   edited line      -> 'unauthentic' on that line (GCM tag), or 'chain' when only its MAC was changed
//   inserted line    -> 'unknown_key' / 'unauthentic' (forged), 'duplicate' (a copy), or a foreign writer
//                       whose segment has no start ('missing') and no end ('unterminated')
//   reordered lines  -> 'out_of_order' on the lines that moved
//   deleted lines    -> 'missing' on the next line of that writer
//   truncated file   -> 'torn' (cut inside a line) and 'unterminated' (cut between lines)

import { timingSafeEqual } from 'node:crypto'
import { chainMac } from './chain.js'
import { keyringFor, LineDecoder, readTextLines, type DecodedLine, type ReadOptions } from './reader.js'

export type VerifyProblemKind =
  | 'torn'
  | 'malformed'
  | 'unknown_key'
  | 'unauthentic'
  | 'chain'
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
   * Treat a segment without a close record as fine (a writer that is still running). Default false:
   * it is reported, because a file cut between two lines looks exactly like that.
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
  /** Segments without a close record when allowOpen is set (reported as problems otherwise). */
  open: VerifyProblem[]
}

interface ChainEntry {
  line: number
  seq: number
  keyId: string
  tag: Buffer
  mac: Buffer
  authentic: boolean
  closes: boolean
}

export async function verifyAuditLog(files: string | string[], options: VerifyOptions = {}): Promise<VerifyResult> {
  const list = Array.isArray(files) ? files : [files]
  const decoder = new LineDecoder(keyringFor(options))
  const result: VerifyResult = { ok: true, files: list, lines: 0, verified: 0, writers: [], problems: [], open: [] }
  for (const file of list) await verifyFile(file, decoder, options, result)
  result.problems.sort((a, b) => (a.file === b.file ? a.line - b.line : list.indexOf(a.file) - list.indexOf(b.file)))
  result.ok = result.problems.length === 0
  return result
}

async function verifyFile(file: string, decoder: LineDecoder, options: VerifyOptions, result: VerifyResult): Promise<void> {
  const chains = new Map<string, ChainEntry[]>()
  for await (const raw of readTextLines(file)) {
    result.lines++
    const decoded: DecodedLine = decoder.decode(file, raw)
    if (decoded.problem) {
      result.problems.push({ file, line: decoded.line, kind: decoded.problem.kind, message: decoded.problem.message, ...(decoded.writer ? { writer: decoded.writer } : {}) })
    }
    if (decoded.seq === undefined) continue
    let entries = chains.get(decoded.writer!)
    if (!entries) chains.set(decoded.writer!, (entries = []))
    entries.push({
      line: decoded.line,
      seq: decoded.seq,
      keyId: decoded.keyId!,
      tag: Buffer.from(decoded.tag!, 'base64url'),
      mac: Buffer.from(decoded.mac!, 'base64url'),
      authentic: !decoded.problem,
      closes: decoded.control?.$ === 'close',
    })
  }
  for (const [writer, entries] of chains) verifyChain(file, writer, entries, decoder, options, result)
}

function verifyChain(file: string, writer: string, entries: ChainEntry[], decoder: LineDecoder, options: VerifyOptions, result: VerifyResult): void {
  const report = (line: number, kind: VerifyProblemKind, message: string) => result.problems.push({ file, line, kind, writer, message })
  // Where each sequence number first appears, to tell a moved line from a deleted one.
  const firstLineOfSeq = new Map<number, number>()
  for (const entry of entries) if (!firstLineOfSeq.has(entry.seq)) firstLineOfSeq.set(entry.seq, entry.line)

  let expected = 0
  let previousMac: Buffer | undefined
  let previousLine: number | undefined
  let closedAt: number | undefined
  let verified = 0
  for (const entry of entries) {
    if (closedAt !== undefined) {
      report(entry.line, 'after_close', `line of writer ${writer} (seq ${entry.seq}) after the writer closed its segment at line ${closedAt}: it was inserted or moved`)
      continue
    }
    if (!entry.authentic) {
      // Already reported. Step over it so that only this line is blamed, not its neighbours.
      if (entry.seq === expected) {
        expected++
        previousMac = entry.mac
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
      const chainKey = decoder.keyring.byId.get(entry.keyId)!.chainKey
      const computed = chainMac(chainKey, writer, entry.seq, previousMac, entry.tag)
      if (computed.length === entry.mac.length && timingSafeEqual(computed, entry.mac)) verified++
      else report(entry.line, 'chain', `chain MAC of writer ${writer} seq ${entry.seq} does not match${previousLine ? ` the previous line (${previousLine})` : ''}: the line's MAC was edited`)
      // Continue from the correct value so that a damaged MAC blames only its own line.
      previousMac = computed
    } else if (entry.seq > expected) {
      const movedLine = firstLaterLine(firstLineOfSeq, expected, entry.seq - 1, entry.line)
      if (movedLine !== undefined) {
        report(entry.line, 'out_of_order', `seq ${entry.seq} of writer ${writer} comes before seq ${expected} (at line ${movedLine}): lines were reordered`)
      } else {
        const range = entry.seq - 1 === expected ? `seq ${expected}` : `seq ${expected}-${entry.seq - 1}`
        const where = previousLine === undefined ? `at the start of the segment, before line ${entry.line}` : `between line ${previousLine} and line ${entry.line}`
        report(entry.line, 'missing', `${entry.seq - expected} line(s) of writer ${writer} (${range}) missing ${where}: deleted`)
      }
      // The link to the line before cannot be checked; trust this line's MAC to check the ones after.
      previousMac = entry.mac
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
    const problem: VerifyProblem = {
      file,
      line: previousLine ?? last.line,
      kind: 'unterminated',
      writer,
      message: `writer ${writer} has no close record after line ${previousLine ?? last.line}: the file was truncated after this line, or the writer crashed or is still running`,
    }
    if (options.allowOpen) result.open.push(problem)
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
