// The chain: the GCM tag of every line also authenticates, as associated data, the tag of the line
// before it in the same writer. So a line verifies only directly after its genuine predecessor, and a
// writer's lines can only be checked as one unbroken sequence from its open record (seq 0, no
// predecessor) to its close record. An edited line fails its own tag; a deleted, moved or inserted
// line breaks the link of the line after it. (One GCM per line does both jobs: a separate HMAC chain
// would cost as much again as the encryption.) ChainWriter is the writing side of one segment; it
// encrypts a batch of lines at a time (gcm.ts), with the same bytes as createCipheriv('aes-256-gcm') per line.

import { createSecretKey } from 'node:crypto'
import type { AuditKey } from './keys.js'
import { formatLine, newWriterId, writerKey } from './format.js'
import { BatchGcm } from './gcm.js'

/** Control records a writer adds to its own chain. */
export type ControlRecord =
  | { $: 'open'; at: string; pid: number; host?: string; previous?: { writer: string; seq: number; reason: string } }
  | { $: 'close'; at: string; reason: string; lines: number }
  | { $: 'dropped'; at: string; count: number; since: string; until: string; reason: string }

/** base64url's alphabet as character codes. */
const ALPHABET = Uint8Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', (char) => char.charCodeAt(0))

/**
 * A 128-bit tag, words `at` to `at + 3` of `tags`, as base64url (22 characters): five 24-bit groups
 * of four characters, then 8 bits as two. One String.fromCharCode, so one flat string.
 */
function tagText(tags: Int32Array, at: number): string {
  const w0 = tags[at]!, w1 = tags[at + 1]!, w2 = tags[at + 2]!, w3 = tags[at + 3]!
  const g0 = w0 >>> 8, g1 = ((w0 & 0xff) << 16) | (w1 >>> 16), g2 = ((w1 & 0xffff) << 8) | (w2 >>> 24), g3 = w2 & 0xffffff, g4 = w3 >>> 8
  const last = w3 & 0xff
  const a = ALPHABET
  return String.fromCharCode(
    a[g0 >>> 18]!, a[(g0 >>> 12) & 63]!, a[(g0 >>> 6) & 63]!, a[g0 & 63]!,
    a[g1 >>> 18]!, a[(g1 >>> 12) & 63]!, a[(g1 >>> 6) & 63]!, a[g1 & 63]!,
    a[g2 >>> 18]!, a[(g2 >>> 12) & 63]!, a[(g2 >>> 6) & 63]!, a[g2 & 63]!,
    a[g3 >>> 18]!, a[(g3 >>> 12) & 63]!, a[(g3 >>> 6) & 63]!, a[g3 & 63]!,
    a[g4 >>> 18]!, a[(g4 >>> 12) & 63]!, a[(g4 >>> 6) & 63]!, a[g4 & 63]!,
    a[last >>> 2]!, a[(last & 3) << 4]!,
  )
}

/** One writer's segment: a fresh random id, sequence numbers from 0, one chain. */
export class ChainWriter {
  readonly writer = newWriterId()
  readonly #keyId: string
  readonly #gcm: BatchGcm
  #seq = 0
  /** Words 0-3: the tag of the last line written (for the next line's associated data). */
  #tags = new Int32Array(4 * 64)

  constructor(key: AuditKey) {
    this.#keyId = key.id
    this.#gcm = new BatchGcm(createSecretKey(writerKey(key, this.writer)))
  }

  /** Lines written so far (the next sequence number). */
  get seq(): number {
    return this.#seq
  }

  /** Encrypt and chain one JSON plaintext; returns the whole line including its newline. */
  line(plaintext: string): string {
    return this.lines([plaintext])
  }

  /** Encrypt and chain JSON plaintexts in order; returns their lines, each ending in a newline. */
  lines(plaintexts: readonly string[]): string {
    const n = plaintexts.length
    if (n === 0) return ''
    const first = this.#seq
    if (this.#tags.length < 4 * (n + 1)) {
      const grown = new Int32Array(4 * (n + 1))
      grown.set(this.#tags.subarray(0, 4))
      this.#tags = grown
    }
    const tags = this.#tags
    const ciphertexts = new Array<string>(n)
    this.#gcm.encrypt(plaintexts, first, first > 0, ciphertexts, tags)
    let text = ''
    for (let i = 0; i < n; i++) text += formatLine(this.writer, first + i, this.#keyId, ciphertexts[i]!, tagText(tags, 4 * (i + 1)))
    // The last tag becomes the associated data of the next batch's first line.
    tags.copyWithin(0, 4 * n, 4 * n + 4)
    this.#seq = first + n
    return text
  }
}
