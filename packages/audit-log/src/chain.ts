// The chain: every line carries a MAC over the previous line's MAC and its own GCM tag, keyed per
// audit key and bound to the writer and sequence number. The tag already authenticates the line's
// content and position; the chain adds that a line vouches for the exact line before it, so a writer's
// lines can only be checked as one unbroken sequence. ChainWriter is the writing side of one segment.

import { createHmac } from 'node:crypto'
import type { AuditKey } from './keys.js'
import { encrypt, formatLine, newWriterId, writeNonce, writerKey } from './format.js'

export const MAC_BYTES = 16

const NO_PREVIOUS = Buffer.alloc(0)

export function chainMac(chainKey: Buffer, writer: string, seq: number, previous: Buffer | undefined, tag: Buffer, scratch?: Buffer): Buffer {
  const position = scratch ?? Buffer.alloc(8)
  position.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), 0)
  position.writeUInt32BE(seq >>> 0, 4)
  return createHmac('sha256', chainKey)
    .update(writer)
    .update(position)
    .update(previous ?? NO_PREVIOUS)
    .update(tag)
    .digest()
    .subarray(0, MAC_BYTES)
}

/** Control records a writer adds to its own chain. */
export type ControlRecord =
  | { $: 'open'; at: string; pid: number; host?: string; previous?: { writer: string; seq: number; reason: string } }
  | { $: 'close'; at: string; reason: string; lines: number }
  | { $: 'dropped'; at: string; count: number; since: string; until: string; reason: string }

/** One writer's segment: a fresh random id, sequence numbers from 0, one chain. */
export class ChainWriter {
  readonly writer = newWriterId()
  readonly #key: AuditKey
  readonly #encryptionKey: Buffer
  #seq = 0
  #previous: Buffer | undefined
  // Reused for every line: both are consumed before line() returns, and a busy writer makes many lines.
  readonly #nonce = Buffer.alloc(12)
  readonly #position = Buffer.alloc(8)

  constructor(key: AuditKey) {
    this.#key = key
    this.#encryptionKey = writerKey(key, this.writer)
  }

  /** Lines written so far (the next sequence number). */
  get seq(): number {
    return this.#seq
  }

  /** Encrypt and chain one JSON plaintext; returns the whole line including its newline. */
  line(plaintext: string): string {
    const seq = this.#seq++
    const { ciphertext, tag } = encrypt(this.#encryptionKey, writeNonce(seq, this.#nonce), plaintext)
    const mac = chainMac(this.#key.chainKey, this.writer, seq, this.#previous, tag, this.#position)
    this.#previous = mac
    return formatLine(this.writer, seq, this.#key.id, ciphertext, tag, mac)
  }
}
