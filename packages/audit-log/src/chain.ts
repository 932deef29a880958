// The chain: the GCM tag of every line also authenticates, as associated data, the tag of the line
// before it in the same writer. So a line verifies only directly after its genuine predecessor, and a
// writer's lines can only be checked as one unbroken sequence from its open record (seq 0, no
// predecessor) to its close record. An edited line fails its own tag; a deleted, moved or inserted
// line breaks the link of the line after it. (One GCM per line does both jobs: a separate HMAC chain
// would cost as much again as the encryption.) ChainWriter is the writing side of one segment: each
// line is one node:crypto AES-256-GCM encryption (createCipheriv), nonce = sequence number.

import { createCipheriv, createSecretKey, type KeyObject } from 'node:crypto'
import type { AuditKey } from './keys.js'
import { formatLine, lineTemplate, newWriterId, TAG_CHARS, writeNonce, writerKey, type LineTemplate } from './format.js'

/** Control records a writer adds to its own chain. */
export type ControlRecord =
  | { $: 'open'; at: string; pid: number; host?: string; previous?: { writer: string; seq: number; reason: string } }
  | { $: 'close'; at: string; reason: string; lines: number }
  | { $: 'dropped'; at: string; count: number; since: string; until: string; reason: string }

/** Characters of unpadded base64url for `bytes` bytes. */
function base64urlLength(bytes: number): number {
  return Math.floor(bytes / 3) * 4 + [0, 2, 3][bytes % 3]!
}

/** Bytes of a line that depend on neither its sequence number nor its plaintext (every writer id and key id has the same length). */
const FIXED_LINE_BYTES = (() => {
  const { head, middle, beforeTag, end } = lineTemplate('w'.repeat(16), 'k'.repeat(8))
  return head.length + middle.length + beforeTag.length + TAG_CHARS + end.length
})()

/**
 * The exact size in bytes (newline included) of a line holding a plaintext of `plaintextBytes` UTF-8
 * bytes at sequence number `seq`: the sink fits a batch into the room left in the file with it,
 * before it encrypts anything.
 */
export function lineBytes(plaintextBytes: number, seq: number): number {
  return FIXED_LINE_BYTES + String(seq).length + base64urlLength(plaintextBytes)
}

/** One writer's segment: a fresh random id, sequence numbers from 0, one chain. */
export class ChainWriter {
  readonly writer = newWriterId()
  readonly #key: KeyObject
  readonly #template: LineTemplate
  #seq = 0
  /** The tag of the last line written (the next line's associated data); none before seq 0. */
  #link: Buffer | undefined
  /**
   * The nonce of the line being encrypted, rewritten for each line: createCipheriv copies the IV, and
   * a fresh 12-byte Buffer per line (its ArrayBuffer made real when node:crypto reads it) cost ~2,300
   * instructions.
   */
  readonly #nonce = Buffer.alloc(12)

  constructor(key: AuditKey) {
    this.#key = createSecretKey(writerKey(key, this.writer))
    this.#template = lineTemplate(this.writer, key.id)
  }

  /** Lines written so far (the next sequence number). */
  get seq(): number {
    return this.#seq
  }

  /** The size in bytes of this writer's next line for a plaintext of `plaintextBytes` UTF-8 bytes. */
  nextLineBytes(plaintextBytes: number): number {
    return lineBytes(plaintextBytes, this.#seq)
  }

  /** Encrypt and chain one JSON plaintext; returns the whole line including its newline. */
  line(plaintext: string): string {
    const seq = this.#seq
    const cipher = createCipheriv('aes-256-gcm', this.#key, writeNonce(seq, this.#nonce))
    if (this.#link) cipher.setAAD(this.#link)
    const ciphertext = cipher.update(plaintext, 'utf8')
    cipher.final()
    const tag = cipher.getAuthTag()
    this.#link = tag
    this.#seq = seq + 1
    return formatLine(this.#template, seq, ciphertext.toString('base64url'), tag.toString('base64url'))
  }

  /** Encrypt and chain JSON plaintexts in order; returns their lines, each ending in a newline. */
  lines(plaintexts: readonly string[]): string {
    let text = ''
    for (const plaintext of plaintexts) text += this.line(plaintext)
    return text
  }
}
