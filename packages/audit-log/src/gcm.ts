// AES-256-GCM for many lines at once: the same bytes as node:crypto's createCipheriv('aes-256-gcm'),
// one native call per batch instead of one cipher object per line.
//
// Why not createCipheriv per line: each call builds a cipher object, looks the algorithm up by name in
// OpenSSL, expands the key and sets up GHASH again: ~30,000 instructions per line, about half of what
// an audit event cost in all, for ~200 bytes of data. Node offers no way to re-use a GCM context with a
// new nonce. So here GCM is put together from its two parts (NIST SP 800-38D):
//  - the counter-mode keystream, including E(K, J0) for the tag, from ONE AES-256-ECB update over the
//    counter blocks of every line of the batch (AES-NI in OpenSSL, constant-time);
//  - GHASH in JavaScript, with per-key tables (16 tables of 256 entries, 64 KiB): 16 lookups per
//    block. Table lookups whose index depends on secret data are not constant-time (the same trade-off
//    as OpenSSL's and noble's table-driven GHASH when no carry-less multiply is available): a process
//    on the same machine measuring cache timing while the sink writes could learn about H. That is an
//    attacker already running code on the host; the log's threat model is one who reads or edits the
//    files. The package README says so.
// @noble/ciphers has a GHASH, but its tables are rebuilt for every message (one per line here).
// The tests check every line against node:crypto's decryption and against the per-line encryption.

import { createCipheriv, type Cipher, type KeyObject } from 'node:crypto'

/** A 128-bit value as four 32-bit words, most significant first (GCM's byte order). */
type Block = [number, number, number, number]

/** Per-key GHASH tables: entry (16 * 256 * k + 4 * b) holds b · x^(8k) · H, for byte b at position k. */
function ghashTables(h: Block): Int32Array {
  // V[i] = H · x^i, i = 0..127: multiplying by x is a right shift in GCM's bit order, with reduction.
  const v = new Int32Array(128 * 4)
  let [w0, w1, w2, w3] = h
  for (let i = 0; i < 128; i++) {
    v[4 * i] = w0
    v[4 * i + 1] = w1
    v[4 * i + 2] = w2
    v[4 * i + 3] = w3
    const carry = w3 & 1
    w3 = (w3 >>> 1) | (w2 << 31)
    w2 = (w2 >>> 1) | (w1 << 31)
    w1 = (w1 >>> 1) | (w0 << 31)
    w0 = (w0 >>> 1) ^ (carry ? 0xe1000000 : 0)
  }
  const t = new Int32Array(16 * 256 * 4)
  for (let k = 0; k < 16; k++) {
    const base = k * 256 * 4
    for (let b = 1; b < 256; b++) {
      // The lowest set bit of b, value 2^p, is coefficient x^(8k + 7 - p).
      const p = 31 - Math.clz32(b & -b)
      const rest = base + 4 * (b & ~(1 << p))
      const vi = 4 * (8 * k + 7 - p)
      const at = base + 4 * b
      t[at] = t[rest]! ^ v[vi]!
      t[at + 1] = t[rest + 1]! ^ v[vi + 1]!
      t[at + 2] = t[rest + 2]! ^ v[vi + 2]!
      t[at + 3] = t[rest + 3]! ^ v[vi + 3]!
    }
  }
  return t
}

/**
 * GHASH over `blocks` 16-byte blocks of `data` from byte `p`: state = (state XOR block) · H each, by
 * table lookups (written out for the 16 bytes of a block: a loop costs index arithmetic and branches
 * per lookup). The state is in `state` (four words) before and after.
 */
function ghash(t: Int32Array, state: Int32Array, data: DataView, p: number, blocks: number): void {
  let s0 = state[0]!, s1 = state[1]!, s2 = state[2]!, s3 = state[3]!
  for (let end = p + 16 * blocks; p < end; p += 16) {
    const y0 = s0 ^ data.getInt32(p)
    const y1 = s1 ^ data.getInt32(p + 4)
    const y2 = s2 ^ data.getInt32(p + 8)
    const y3 = s3 ^ data.getInt32(p + 12)
    let i0 = (y0 >>> 24) << 2
    let i1 = 1024 + (((y0 >>> 16) & 255) << 2)
    let i2 = 2048 + (((y0 >>> 8) & 255) << 2)
    let i3 = 3072 + ((y0 & 255) << 2)
    s0 = t[i0]! ^ t[i1]! ^ t[i2]! ^ t[i3]!
    s1 = t[i0 + 1]! ^ t[i1 + 1]! ^ t[i2 + 1]! ^ t[i3 + 1]!
    s2 = t[i0 + 2]! ^ t[i1 + 2]! ^ t[i2 + 2]! ^ t[i3 + 2]!
    s3 = t[i0 + 3]! ^ t[i1 + 3]! ^ t[i2 + 3]! ^ t[i3 + 3]!
    i0 = 4096 + ((y1 >>> 24) << 2)
    i1 = 5120 + (((y1 >>> 16) & 255) << 2)
    i2 = 6144 + (((y1 >>> 8) & 255) << 2)
    i3 = 7168 + ((y1 & 255) << 2)
    s0 ^= t[i0]! ^ t[i1]! ^ t[i2]! ^ t[i3]!
    s1 ^= t[i0 + 1]! ^ t[i1 + 1]! ^ t[i2 + 1]! ^ t[i3 + 1]!
    s2 ^= t[i0 + 2]! ^ t[i1 + 2]! ^ t[i2 + 2]! ^ t[i3 + 2]!
    s3 ^= t[i0 + 3]! ^ t[i1 + 3]! ^ t[i2 + 3]! ^ t[i3 + 3]!
    i0 = 8192 + ((y2 >>> 24) << 2)
    i1 = 9216 + (((y2 >>> 16) & 255) << 2)
    i2 = 10240 + (((y2 >>> 8) & 255) << 2)
    i3 = 11264 + ((y2 & 255) << 2)
    s0 ^= t[i0]! ^ t[i1]! ^ t[i2]! ^ t[i3]!
    s1 ^= t[i0 + 1]! ^ t[i1 + 1]! ^ t[i2 + 1]! ^ t[i3 + 1]!
    s2 ^= t[i0 + 2]! ^ t[i1 + 2]! ^ t[i2 + 2]! ^ t[i3 + 2]!
    s3 ^= t[i0 + 3]! ^ t[i1 + 3]! ^ t[i2 + 3]! ^ t[i3 + 3]!
    i0 = 12288 + ((y3 >>> 24) << 2)
    i1 = 13312 + (((y3 >>> 16) & 255) << 2)
    i2 = 14336 + (((y3 >>> 8) & 255) << 2)
    i3 = 15360 + ((y3 & 255) << 2)
    s0 ^= t[i0]! ^ t[i1]! ^ t[i2]! ^ t[i3]!
    s1 ^= t[i0 + 1]! ^ t[i1 + 1]! ^ t[i2 + 1]! ^ t[i3 + 1]!
    s2 ^= t[i0 + 2]! ^ t[i1 + 2]! ^ t[i2 + 2]! ^ t[i3 + 2]!
    s3 ^= t[i0 + 3]! ^ t[i1 + 3]! ^ t[i2 + 3]! ^ t[i3 + 3]!
  }
  state[0] = s0
  state[1] = s1
  state[2] = s2
  state[3] = s3
}

/** One writer's AES-256-GCM: nonces are 96 bits, given per line as a 64-bit sequence number. */
export class BatchGcm {
  readonly #ecb: Cipher
  readonly #t: Int32Array
  /** Plaintext (then ciphertext) of the batch, each line from a 16-byte boundary, zero-padded. */
  #data = Buffer.alloc(0)
  #dataView = new DataView(this.#data.buffer, this.#data.byteOffset, 0)
  /** Counter blocks (their keystream comes back in a new buffer). */
  #counters = Buffer.alloc(0)
  #countersView = new DataView(this.#counters.buffer, this.#counters.byteOffset, 0)
  /** GHASH state and the associated-data and length blocks, as 16 bytes. */
  readonly #state = new Int32Array(4)
  readonly #block = Buffer.alloc(16)
  readonly #blockView = new DataView(this.#block.buffer, this.#block.byteOffset, 16)

  constructor(key: KeyObject | Buffer) {
    this.#ecb = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false)
    const h = this.#ecb.update(Buffer.alloc(16))
    this.#t = ghashTables([h.readInt32BE(0), h.readInt32BE(4), h.readInt32BE(8), h.readInt32BE(12)])
  }

  /**
   * Encrypt `plaintexts[i]` (UTF-8) under nonce `seq + i`, each with the tag of the line before it as
   * associated data (`tags` words 0-3 hold the tag before the first line; `chained` false: none).
   * Fills `ciphertexts[i]` (base64url) and `tags` words 4(i+1) to 4(i+1)+3.
   */
  encrypt(plaintexts: readonly string[], seq: number, chained: boolean, ciphertexts: string[], tags: Int32Array): void {
    const n = plaintexts.length
    // Lay the plaintexts out from 16-byte boundaries (UTF-8 takes at most 3 bytes per UTF-16 unit).
    let capacity = 0
    for (let i = 0; i < n; i++) capacity += (plaintexts[i]!.length * 3 + 15) & ~15
    if (this.#data.length < capacity) {
      this.#data = Buffer.alloc(Math.max(capacity, 2 * this.#data.length))
      this.#dataView = new DataView(this.#data.buffer, this.#data.byteOffset, this.#data.length)
    }
    const data = this.#data
    const view = this.#dataView
    const offsets = new Array<number>(n)
    const lengths = new Array<number>(n)
    let offset = 0
    let blocks = 0
    for (let i = 0; i < n; i++) {
      const length = data.write(plaintexts[i]!, offset)
      const end = (offset + length + 15) & ~15
      if (end > offset + length) data.fill(0, offset + length, end)
      offsets[i] = offset
      lengths[i] = length
      offset = end
      // J0, then one counter block per 16 bytes.
      blocks += 1 + ((length + 15) >>> 4)
    }
    // Counter blocks: nonce = 4 zero bytes + the 64-bit sequence number, then a 32-bit counter
    // (1 for J0, 2 onwards for the data).
    if (this.#counters.length < blocks * 16) {
      this.#counters = Buffer.alloc(Math.max(blocks * 16, 2 * this.#counters.length))
      this.#countersView = new DataView(this.#counters.buffer, this.#counters.byteOffset, this.#counters.length)
    }
    const counters = this.#countersView
    let at = 0
    for (let i = 0; i < n; i++) {
      const s = seq + i
      const high = Math.floor(s / 0x1_0000_0000)
      const low = s >>> 0
      const count = 1 + ((lengths[i]! + 15) >>> 4)
      for (let c = 1; c <= count; c++, at += 16) {
        counters.setInt32(at, 0)
        counters.setInt32(at + 4, high)
        counters.setInt32(at + 8, low)
        counters.setInt32(at + 12, c)
      }
    }
    const stream = this.#ecb.update(this.#counters.subarray(0, at))
    const keys = new DataView(stream.buffer, stream.byteOffset, stream.length)

    const t = this.#t
    const state = this.#state
    const block = this.#blockView
    let k = 0
    for (let i = 0; i < n; i++) {
      const start = offsets[i]!
      const length = lengths[i]!
      const j0 = k
      k += 16
      // XOR the keystream in: whole words, then the bytes of a partial last word. The padding of the
      // last block stays zero, as GHASH wants it.
      const words = start + (length & ~3)
      let p = start
      for (; p < words; p += 4, k += 4) view.setInt32(p, view.getInt32(p) ^ keys.getInt32(k))
      for (let b = p; b < start + length; b++, k++) data[b] = data[b]! ^ stream[k]!
      k = j0 + 16 + 16 * ((length + 15) >>> 4)
      // GHASH: the associated data (the previous tag), the ciphertext, then the lengths in bits.
      state.fill(0)
      const tagAt = 4 * i
      if (chained || i > 0) {
        block.setInt32(0, tags[tagAt]!)
        block.setInt32(4, tags[tagAt + 1]!)
        block.setInt32(8, tags[tagAt + 2]!)
        block.setInt32(12, tags[tagAt + 3]!)
        ghash(t, state, block, 0, 1)
      }
      ghash(t, state, view, start, (length + 15) >>> 4)
      block.setInt32(0, 0)
      block.setInt32(4, chained || i > 0 ? 128 : 0)
      block.setInt32(8, Math.floor(length / 0x2000_0000))
      block.setInt32(12, (length * 8) >>> 0)
      ghash(t, state, block, 0, 1)
      tags[tagAt + 4] = state[0]! ^ keys.getInt32(j0)
      tags[tagAt + 5] = state[1]! ^ keys.getInt32(j0 + 4)
      tags[tagAt + 6] = state[2]! ^ keys.getInt32(j0 + 8)
      tags[tagAt + 7] = state[3]! ^ keys.getInt32(j0 + 12)
      ciphertexts[i] = data.toString('base64url', start, start + length)
    }
    // Leave no plaintext behind in the scratch buffer.
    data.fill(0, 0, offset)
  }
}
