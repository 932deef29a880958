// The chain: the GCM tag of every line also authenticates, as associated data, the tag of the line
// before it in the same writer. So a line verifies only directly after its genuine predecessor, and a
// writer's lines can only be checked as one unbroken sequence from its open record (seq 0, no
// predecessor) to its close record. An edited line fails its own tag; a deleted, moved or inserted
// line breaks the link of the line after it. (One GCM per line does both jobs: a separate HMAC chain
// would cost as much again as the encryption.) ChainWriter is the writing side of one segment.

import { createSecretKey, type KeyObject } from 'node:crypto'
import type { AuditKey } from './keys.js'
import { encrypt, formatLine, newWriterId, writeNonce, writerKey } from './format.js'

/** Control records a writer adds to its own chain. */
export type ControlRecord =
  | { $: 'open'; at: string; pid: number; host?: string; previous?: { writer: string; seq: number; reason: string } }
  | { $: 'close'; at: string; reason: string; lines: number }
  | { $: 'dropped'; at: string; count: number; since: string; until: string; reason: string }

/** One writer's segment: a fresh random id, sequence numbers from 0, one chain. */
export class ChainWriter {
  readonly writer = newWriterId()
  readonly #keyId: string
  // A KeyObject, not the Buffer: createCipheriv then skips copying and checking the key for every line
  // (~2,000 instructions of ~30,000).
  readonly #encryptionKey: KeyObject
  #seq = 0
  #previousTag: Buffer | undefined
  // Reused for every line: consumed before line() returns, and a busy writer makes many lines.
  readonly #nonce = Buffer.alloc(12)

  constructor(key: AuditKey) {
    this.#keyId = key.id
    this.#encryptionKey = createSecretKey(writerKey(key, this.writer))
  }

  /** Lines written so far (the next sequence number). */
  get seq(): number {
    return this.#seq
  }

  /** Encrypt and chain one JSON plaintext; returns the whole line including its newline. */
  line(plaintext: string): string {
    const seq = this.#seq++
    const { ciphertext, tag } = encrypt(this.#encryptionKey, writeNonce(seq, this.#nonce), plaintext, this.#previousTag)
    this.#previousTag = tag
    return formatLine(this.writer, seq, this.#keyId, ciphertext, tag)
  }
}
