// Reading a log: split into lines, parse, pick the key by id, decrypt, and say what is wrong with a
// line that cannot be read. Chain and order checks are in verify.ts; this file looks at one line at a
// time, so `tail` and `query` can stream files of any size.

import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AuditEvent } from '@sesame/core'
import type { ControlRecord } from './chain.js'
import { decrypt, isCutShort, parseLine, splitAtRecordStarts, writerKey, writerOfFragment, type RawLine } from './format.js'
import { AuditKeyMissing } from './errors.js'
import { createKeyring, readDefaultKeyFiles, resolveKeyring, type KeyInput, type Keyring } from './keys.js'

export type LineProblemKind = 'torn' | 'malformed' | 'unknown_key' | 'unauthentic' | 'unverifiable'

export interface DecodedLine {
  file: string
  /** 1-based line number in the file. */
  line: number
  /** Set whenever the line parsed (also when it did not decrypt). */
  writer?: string
  seq?: number
  keyId?: string
  /** The line's GCM tag as written. */
  tag?: string
  /** Decrypted content: an audit event, or a record the writer added (open, close, dropped). */
  event?: AuditEvent
  control?: ControlRecord
  /** Why the line could not be read. */
  problem?: { kind: LineProblemKind; message: string }
}

export interface ReadOptions {
  /**
   * Keys to read with (any order; the line says which it needs). Without it: SESAME_AUDIT_KEY, then
   * keyFile, then the key file fileSink generates beside the log (`<dir>/.sesame-audit/key`).
   */
  key?: KeyInput | KeyInput[]
  keyFile?: string
  /** An already resolved keyring (the CLI resolves once for many files). */
  keyring?: Keyring
}

export interface RawTextLine {
  line: number
  text: string
  /**
   * False for a last line without its newline (a write that never finished), and for the part of a
   * line before a second record start in it (a write cut short that another one continued).
   */
  complete: boolean
  /** The line was longer than MAX_LINE_CHARS: `text` is only its start. */
  oversized?: true
}

/** The records of one line of the file: usually one; more when a second record starts inside it. */
function* recordsOf(line: number, text: string, complete: boolean, oversized = false): Generator<RawTextLine> {
  if (oversized) {
    yield { line, text, complete, oversized }
    return
  }
  const pieces = splitAtRecordStarts(text)
  for (let i = 0; i < pieces.length; i++) yield { line, text: pieces[i]!, complete: complete && i === pieces.length - 1 }
}

/**
 * Longest line a reader holds in memory. The sink writes far shorter lines (fields are clipped); a
 * longer one was put there by someone else, and is reported by its start rather than loaded whole.
 */
export const MAX_LINE_CHARS = 4 * 1024 * 1024

/** The lines of a file from a byte offset; empty lines are skipped but counted. */
export async function* readTextLines(file: string, start = 0, firstLineNumber = 1): AsyncGenerator<RawTextLine> {
  let rest = ''
  let oversized = false
  let line = firstLineNumber - 1
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1024 * 1024, start })) {
    const text = rest + (chunk as string)
    let from = 0
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', from)) {
      line++
      if (end > from || oversized) yield* recordsOf(line, oversized ? rest : text.slice(from, end), true, oversized)
      oversized = false
      rest = ''
      from = end + 1
    }
    if (oversized) continue
    rest = text.slice(from)
    if (rest.length > MAX_LINE_CHARS) {
      // Keep the start (it still names the writer) and drop the rest of this line as it streams by.
      rest = rest.slice(0, 256)
      oversized = true
    }
  }
  if (rest.length > 0) yield* recordsOf(line + 1, rest, false)
}

/** The keyring for reading `files`: see ReadOptions for the order the keys are looked for in. */
export function keyringFor(options: ReadOptions, files: string[]): Keyring {
  if (options.keyring) return options.keyring
  const env = process.env.SESAME_AUDIT_KEY
  if (options.key === undefined && options.keyFile === undefined && (env === undefined || env.trim() === '')) {
    const { keys, searched } = readDefaultKeyFiles(files)
    if (keys.length === 0) throw new AuditKeyMissing(searched)
    return createKeyring(keys)
  }
  return resolveKeyring({ key: options.key, env, keyFile: options.keyFile, create: false })
}

/** How many recent tags per writer the streaming reader keeps to check chain links out of order. */
const RECENT_TAGS_PER_WRITER = 256

/**
 * Decodes lines of one or more files. `decode()` streams: a line is checked against the tag of its
 * predecessor (seq - 1) among the recent lines of its writer. verify.ts does the complete check.
 */
export class LineDecoder {
  readonly #keyring: Keyring
  readonly #writerKeys = new Map<string, Buffer>()
  readonly #recentTags = new Map<string, Map<number, Buffer>>()

  constructor(keyring: Keyring) {
    this.#keyring = keyring
  }

  get keyring(): Keyring {
    return this.#keyring
  }

  /** Parse one line. Without `parsed`, the result carries the problem (torn or malformed). */
  parse(file: string, raw: RawTextLine): { result: DecodedLine; parsed?: RawLine } {
    const result: DecodedLine = { file, line: raw.line }
    const parsed = parseLine(raw.text)
    if (!parsed) {
      const writer = writerOfFragment(raw.text)
      if (writer) result.writer = writer
      const whose = writer ? ` (writer ${writer})` : ''
      if (raw.oversized) {
        result.problem = { kind: 'malformed', message: `a line longer than ${MAX_LINE_CHARS} characters${whose}, far longer than any the sink writes: it was put there by someone else` }
      } else if (!raw.complete) {
        result.problem = { kind: 'torn', message: `torn line${whose}: the start of a line whose writer crashed mid-write (or the file was truncated here)` }
      } else if (isCutShort(raw.text)) {
        result.problem = { kind: 'torn', message: `torn line${whose}: the start of a line whose writer crashed mid-write; what follows was appended on a fresh line` }
      } else {
        result.problem = { kind: 'malformed', message: `not a whole audit line${whose}: the line was edited` }
      }
      return { result }
    }
    result.writer = parsed.w
    result.seq = parsed.s
    result.keyId = parsed.k
    result.tag = parsed.t
    return { result, parsed }
  }

  /**
   * Decrypt a parsed line given its predecessor's tag (undefined for seq 0; null when the predecessor
   * is not available). Sets `event` or `control` on the result, or `problem`.
   */
  open(parsed: RawLine, previousTag: Buffer | undefined | null, result: DecodedLine): void {
    const key = this.#keyring.byId.get(parsed.k)
    if (!key) {
      const known = [...this.#keyring.byId.keys()].join(', ')
      result.problem = {
        kind: 'unknown_key',
        message: `written with key id ${parsed.k}, which is not among the keys given (${known}): pass the older key too, or the line was inserted by someone else`,
      }
      return
    }
    if (previousTag === null) {
      result.problem = {
        kind: 'unverifiable',
        message: `cannot be authenticated: the line before it in writer ${parsed.w}'s chain (seq ${parsed.s - 1}) is missing or far away (lines deleted, moved or inserted); run verify on the whole file`,
      }
      return
    }
    const cacheKey = `${parsed.k}/${parsed.w}`
    let encryptionKey = this.#writerKeys.get(cacheKey)
    if (!encryptionKey) {
      if (this.#writerKeys.size > 10_000) this.#writerKeys.clear()
      encryptionKey = writerKey(key, parsed.w)
      this.#writerKeys.set(cacheKey, encryptionKey)
    }
    const plaintext = decrypt(encryptionKey, parsed, previousTag)
    let record: unknown
    try {
      record = plaintext === undefined ? undefined : JSON.parse(plaintext)
    } catch {
      record = undefined
    }
    if (typeof record !== 'object' || record === null) {
      result.problem = {
        kind: 'unauthentic',
        message: `does not authenticate (writer ${parsed.w}, seq ${parsed.s}): this line was edited or forged, or the tag of the line before it was edited`,
      }
      return
    }
    if ('$' in record) result.control = record as ControlRecord
    else result.event = record as AuditEvent
  }

  /** Parse and decrypt one line in a stream of lines. */
  decode(file: string, raw: RawTextLine): DecodedLine {
    const { result, parsed } = this.parse(file, raw)
    if (!parsed) return result
    let recent = this.#recentTags.get(parsed.w)
    if (!recent) {
      if (this.#recentTags.size > 10_000) this.#recentTags.clear()
      this.#recentTags.set(parsed.w, (recent = new Map()))
    }
    const previousTag = parsed.s === 0 ? undefined : (recent.get(parsed.s - 1) ?? null)
    if (!recent.has(parsed.s)) {
      recent.set(parsed.s, Buffer.from(parsed.t, 'base64url'))
      if (recent.size > RECENT_TAGS_PER_WRITER) recent.delete(recent.keys().next().value!)
    }
    this.open(parsed, previousTag, result)
    return result
  }
}

/** Every line of a file, decoded, in file order. Lines that cannot be read carry `problem`. */
export async function* readAuditLog(file: string, options: ReadOptions = {}): AsyncGenerator<DecodedLine> {
  const decoder = new LineDecoder(keyringFor(options, [file]))
  for await (const raw of readTextLines(file)) yield decoder.decode(file, raw)
}

export interface AuditLogEntry {
  file: string
  line: number
  writer: string
  seq: number
  event: AuditEvent
}

/** The events of a file (in file order) and the lines that could not be read. Loads the whole file. */
export async function readAuditEvents(
  file: string,
  options: ReadOptions = {},
): Promise<{ events: AuditLogEntry[]; controls: DecodedLine[]; problems: DecodedLine[] }> {
  const events: AuditLogEntry[] = []
  const controls: DecodedLine[] = []
  const problems: DecodedLine[] = []
  for await (const decoded of readAuditLog(file, options)) {
    if (decoded.event) events.push({ file, line: decoded.line, writer: decoded.writer!, seq: decoded.seq!, event: decoded.event })
    else if (decoded.control) controls.push(decoded)
    else problems.push(decoded)
  }
  return { events, controls, problems }
}

export type FollowItem = RawTextLine | { caughtUp: true } | { rotated: true }

/**
 * Lines of a file as they are appended (`tail -f`). Yields `{ caughtUp }` each time the end is
 * reached, and `{ rotated }` when the path now names a new file (moved by logrotate or by the sink's
 * own rotation) after the old one was read to its end. A last line without its newline is held back
 * until it is completed, because the writer may be in the middle of it.
 */
export async function* followTextLines(file: string, options: { signal?: AbortSignal; intervalMs?: number } = {}): AsyncGenerator<FollowItem> {
  const intervalMs = options.intervalMs ?? 250
  const buffer = Buffer.alloc(1024 * 1024)
  let handle = await open(file, 'r')
  let inode = (await handle.stat()).ino
  let position = 0
  let line = 0
  let rest: Buffer = Buffer.alloc(0)
  let oversized = false
  try {
    while (!options.signal?.aborted) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position)
      if (bytesRead > 0) {
        position += bytesRead
        const data = rest.length > 0 ? Buffer.concat([rest, buffer.subarray(0, bytesRead)]) : buffer.subarray(0, bytesRead)
        let from = 0
        for (let end = data.indexOf(0x0a); end !== -1; end = data.indexOf(0x0a, from)) {
          line++
          if (end > from) yield* recordsOf(line, data.toString('utf8', from, oversized ? Math.min(end, from + 256) : end), true, oversized)
          oversized = false
          from = end + 1
        }
        rest = Buffer.from(data.subarray(from))
        if (rest.length > MAX_LINE_CHARS) {
          // As in readTextLines: keep the start of an absurdly long line, not all of it.
          rest = rest.subarray(0, 256)
          oversized = true
        }
        continue
      }
      yield { caughtUp: true }
      const current = await stat(file).catch(() => undefined)
      if (current && current.ino !== inode) {
        if (rest.length > 0) yield* recordsOf(line + 1, rest.toString('utf8'), false)
        await handle.close()
        handle = await open(file, 'r')
        inode = (await handle.stat()).ino
        position = 0
        line = 0
        rest = Buffer.alloc(0)
        yield { rotated: true }
        continue
      }
      await sleep(intervalMs, undefined, options.signal ? { signal: options.signal } : undefined).catch(() => undefined)
    }
  } finally {
    await handle.close()
  }
}
