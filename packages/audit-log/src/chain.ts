// The chain: the GCM tag of every line also authenticates, as associated data, the tag of the line
// before it in the same writer. So a line verifies only directly after its genuine predecessor, and a
// writer's lines can only be checked as one unbroken sequence from its open record (seq 0, no
// predecessor) to its close record. An edited line fails its own tag; a deleted, moved or inserted
// line breaks the link of the line after it. (One GCM per line does both jobs: a separate HMAC chain
// would cost as much again as the encryption.) ChainWriter is the writing side of one segment; it
// encrypts a batch of lines at a time (gcm.ts), with the same bytes as createCipheriv('aes-256-gcm') per line.

import { createSecretKey } from 'node:crypto'
import type { AuditKey } from './keys.js'
import { lineTemplate, newWriterId, writerKey } from './format.js'
import { BatchGcm } from './gcm.js'

/** Control records a writer adds to its own chain. */
export type ControlRecord =
  | { $: 'open'; at: string; pid: number; host?: string; previous?: { writer: string; seq: number; reason: string } }
  | { $: 'close'; at: string; reason: string; lines: number }
  | { $: 'dropped'; at: string; count: number; since: string; until: string; reason: string }

/** One writer's segment: a fresh random id, sequence numbers from 0, one chain. */
export class ChainWriter {
  readonly writer = newWriterId()
  readonly #gcm: BatchGcm
  #seq = 0
  /** The tag of the last line written (the next line's associated data). */
  readonly #link = new Int32Array(4)

  constructor(key: AuditKey) {
    this.#gcm = new BatchGcm(createSecretKey(writerKey(key, this.writer)), lineTemplate(this.writer, key.id))
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
    return this.linesBytes(plaintexts).toString('latin1')
  }

  /** The same as lines(), as the bytes to append (the sink's path: no string per line). */
  linesBytes(plaintexts: readonly string[]): Buffer {
    const n = plaintexts.length
    if (n === 0) return Buffer.alloc(0)
    const first = this.#seq
    const bytes = this.#gcm.lines(plaintexts, first, first > 0, this.#link)
    this.#seq = first + n
    return bytes
  }
}
