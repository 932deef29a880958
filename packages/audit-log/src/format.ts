// The line format and its encryption.
//
// One line per record, JSON, fields in this order so that even a torn line names its writer:
//   {"v":1,"w":"<writer id>","s":<seq>,"k":"<key id>","c":"<ciphertext>","t":"<GCM tag>"}
// c and t are base64url. The plaintext is the JSON of an AuditEvent, or of a control record
// ({"$":"open"|"close"|"dropped",...}) that the writer adds itself.
//
// Each writer (one segment of one process's output) gets its own AES-256-GCM key, derived from the
// audit key and the writer's random 96-bit id, and uses its sequence number as the nonce. So no nonce
// repeats under a key, whatever the volume (random 96-bit nonces would be limited to ~2^32 lines per
// key), and lines need not carry an IV. Since the writer id picks the key and the sequence number is
// the nonce, a line cannot be moved to another position or writer without failing to decrypt.
// The chain (chain.ts): each line's associated data is the tag of the line before it in its writer.

import { createDecipheriv, createHmac, randomBytes } from 'node:crypto'
import type { AuditKey } from './keys.js'

export const FORMAT_VERSION = 1

export interface RawLine {
  v: number
  /** Writer id: 16 base64url characters. */
  w: string
  /** Sequence number within the writer, from 0. */
  s: number
  /** Key id. */
  k: string
  c: string
  t: string
}

export function newWriterId(): string {
  return randomBytes(12).toString('base64url')
}

/** The AES-256-GCM key of one writer. */
export function writerKey(key: AuditKey, writer: string): Buffer {
  return createHmac('sha256', key.encryptKey).update('writer:').update(writer).digest()
}

/** The GCM nonce for a sequence number: 4 zero bytes, then the number as 64-bit big-endian. */
export function writeNonce(seq: number, into: Buffer = Buffer.alloc(12)): Buffer {
  into.writeUInt32BE(0, 0)
  into.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), 4)
  into.writeUInt32BE(seq >>> 0, 8)
  return into
}

/** The plaintext, or undefined when the line does not authenticate against `previousTag`. */
export function decrypt(encryptionKey: Buffer, raw: RawLine, previousTag: Buffer | undefined): string | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', encryptionKey, writeNonce(raw.s))
    if (previousTag) decipher.setAAD(previousTag)
    decipher.setAuthTag(Buffer.from(raw.t, 'base64url'))
    return Buffer.concat([decipher.update(Buffer.from(raw.c, 'base64url')), decipher.final()]).toString('utf8')
  } catch {
    return undefined
  }
}

/** Characters of a GCM tag (16 bytes) in base64url. */
export const TAG_CHARS = 22

/**
 * The constant text of one writer's lines, around the three parts that change: a line is
 * head + seq + middle + ciphertext + beforeTag + tag + end. The syntax is spelled only here.
 */
export interface LineTemplate {
  readonly head: string
  readonly middle: string
  readonly beforeTag: string
  readonly end: string
}

export function lineTemplate(writer: string, keyId: string): LineTemplate {
  return { head: `{"v":${FORMAT_VERSION},"w":"${writer}","s":`, middle: `,"k":"${keyId}","c":"`, beforeTag: '","t":"', end: '"}\n' }
}

/** One line of the format, newline included; `ciphertext` and `tag` already base64url. */
export function formatLine(template: LineTemplate, seq: number, ciphertext: string, tag: string): string {
  return template.head + seq + template.middle + ciphertext + template.beforeTag + tag + template.end
}

const WRITER = /^[A-Za-z0-9_-]{16}$/
const KEY_ID = /^[A-Za-z0-9_-]{8}$/
const B64URL = /^[A-Za-z0-9_-]*$/
const TAG = /^[A-Za-z0-9_-]{22}$/

/** Parse one line (without its newline); undefined when it is not a well-formed line of this format. */
export function parseLine(text: string): RawLine | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const raw = value as Partial<RawLine>
  if (raw.v !== FORMAT_VERSION) return undefined
  if (typeof raw.w !== 'string' || !WRITER.test(raw.w)) return undefined
  if (typeof raw.s !== 'number' || !Number.isSafeInteger(raw.s) || raw.s < 0) return undefined
  if (typeof raw.k !== 'string' || !KEY_ID.test(raw.k)) return undefined
  if (typeof raw.c !== 'string' || !B64URL.test(raw.c)) return undefined
  if (typeof raw.t !== 'string' || !TAG.test(raw.t)) return undefined
  return raw as RawLine
}

/** What a torn or malformed line still tells: its writer, when the start of the line survived. */
export function writerOfFragment(text: string): string | undefined {
  return /^\{"v":\d+,"w":"([A-Za-z0-9_-]{16})"/.exec(text)?.[1]
}

/** How every line starts. It cannot occur inside a line: the fields after `v` hold no `{`. */
export const RECORD_START = '{"v":'

/**
 * Whether a line that does not parse is the beginning of a line cut short: it starts as a line
 * starts, holds only characters a line holds, and lacks a line's end. That is what a writer killed
 * inside its write leaves (the next append starts on a fresh line after it). An edited line that
 * keeps its end is 'malformed' instead.
 */
export function isCutShort(text: string): boolean {
  const start = text.slice(0, RECORD_START.length)
  return RECORD_START.startsWith(start) && /^[A-Za-z0-9_\-{}":,]*$/.test(text) && !text.endsWith('"}')
}

/**
 * A line split where a second record starts inside it: the pieces before the last are lines cut
 * short (a writer crashed inside a write and the next append continued its line, as writers older
 * than the one that starts every append on a fresh line could). One piece for an ordinary line.
 */
export function splitAtRecordStarts(text: string): string[] {
  let next = text.indexOf(RECORD_START, 1)
  if (next === -1) return [text]
  const pieces: string[] = []
  let from = 0
  while (next !== -1) {
    pieces.push(text.slice(from, next))
    from = next
    next = text.indexOf(RECORD_START, from + 1)
  }
  pieces.push(text.slice(from))
  return pieces
}
