// AES-256-GCM for many lines at once: the same bytes as node:crypto's createCipheriv('aes-256-gcm'),
// one native call per batch instead of one cipher object per line.
//
// Why not createCipheriv per line: each call builds a cipher object, looks the algorithm up by name in
// OpenSSL, expands the key and sets up GHASH again: ~30,000 instructions per line, about half of what
// an audit event cost in all, for ~200 bytes of data. Node offers no way to re-use a GCM context with a
// new nonce. So here GCM is put together from its two parts (NIST SP 800-38D):
//  - the counter-mode keystream, including E(K, J0) for the tag, from ONE AES-256-ECB update over the
//    counter blocks of every line of the batch (AES-NI in OpenSSL, constant-time);
//  - GHASH with per-key tables (16 tables of 256 entries, 64 KiB): 16 lookups per block, in a small
//    WebAssembly function (below; ~10 instructions per lookup, where JavaScript took ~40: V8 keeps
//    re-deriving the typed array's address and spills). Table lookups whose index depends on secret
//    data are not constant-time (the same trade-off as OpenSSL's and noble's table-driven GHASH when
//    no carry-less multiply is available): a process on the same machine measuring cache timing while
//    the sink writes could learn about H. That is an attacker already running code on the host; the
//    log's threat model is one who reads or edits the files. The package README says so.
// @noble/ciphers has a GHASH, but its tables are rebuilt for every message (one per line here).
// The tests check every line against node:crypto's decryption and against the per-line encryption.

import { createCipheriv, type Cipher, type KeyObject } from 'node:crypto'
import { writeNonce } from './format.js'

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

// The GHASH function in WebAssembly, assembled here from its opcodes (no toolchain needed). Memory:
// the tables at 0 (entry k, b at 4096k + 16b: the 16 bytes of b · x^(8k) · H in GCM's byte order),
// the 16-byte state at STATE, a 16-byte scratch block at SCRATCH, line data from DATA. Bytes stay in
// GCM order throughout: a block is loaded as two little-endian i64s, so byte k of the block is bits
// 8(k mod 8).. of one of them, and XOR of the loaded values is XOR of the bytes; no byte swap needed.
//
//   (func (export "ghash") (param $p i32) (param $blocks i32)   ;; blocks at $p: state = (state ^ block) · H
//     (local $s0 i64) (local $s1 i64) (local $r0 i64) (local $r1 i64) (local $end i32) (local $i i32)
//     s0 = load64(STATE); s1 = load64(STATE + 8); end = p + 16 * blocks
//     block: loop: if p >= end break
//       s0 ^= load64(p); s1 ^= load64(p + 8); r0 = r1 = 0
//       for k in 0..15: i = (wrap((k < 8 ? s0 : s1) >> 8(k mod 8)) & 255) << 4
//                       r0 ^= load64(i + 4096k); r1 ^= load64(i + 4096k + 8)
//       s0 = r0; s1 = r1; p += 16; continue
//     store64(STATE, s0); store64(STATE + 8, s1)
/**
 * The WebAssembly memory is sized once and never grows. `memory.grow()` detaches the old ArrayBuffer,
 * and the first detach of any ArrayBuffer in a process invalidates V8's "array buffer detaching"
 * protector: every optimized function of the whole process that touches a typed array (the app's, Node's
 * http and stream code, the session's seal) is deoptimized at once and recompiled with detach checks for
 * good. A batch is therefore encrypted in chunks of lines that fit DATA_END, and a single line too long
 * for it (a huge client field with maxFieldLength raised) takes node:crypto's own GCM.
 */
const PAGES = 4
const DATA_END = PAGES * 65536
const STATE = 65536
const SCRATCH = STATE + 16
const DATA = STATE + 64

function leb(value: number): number[] {
  const out: number[] = []
  for (;;) {
    const byte = value & 0x7f
    value >>>= 7
    if (value === 0) return [...out, byte]
    out.push(byte | 0x80)
  }
}

function sleb(value: number): number[] {
  const out: number[] = []
  for (;;) {
    const byte = value & 0x7f
    value >>= 7
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) return [...out, byte]
    out.push(byte | 0x80)
  }
}

function ghashModule(): WebAssembly.Module {
  const [P, BLOCKS, S0, S1, R0, R1, END, I] = [0, 1, 2, 3, 4, 5, 6, 7]
  const get = (local: number) => [0x20, local]
  const set = (local: number) => [0x21, local]
  const i32 = (value: number) => [0x41, ...sleb(value)]
  const i64 = (value: number) => [0x42, ...sleb(value)]
  const load64 = (offset: number) => [0x29, 3, ...leb(offset)]
  const store64 = (offset: number) => [0x37, 3, ...leb(offset)]
  const [XOR64, SHR64, WRAP, AND32, SHL32, ADD32, MUL32, GEU32] = [0x85, 0x88, 0xa7, 0x71, 0x74, 0x6a, 0x6c, 0x4f]
  const body: number[] = [
    ...i32(0), ...load64(STATE), ...set(S0),
    ...i32(0), ...load64(STATE + 8), ...set(S1),
    ...get(P), ...get(BLOCKS), ...i32(16), MUL32, ADD32, ...set(END),
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(P), ...get(END), GEU32, 0x0d, 1, // br_if 1 (out of the block)
    ...get(S0), ...get(P), ...load64(0), XOR64, ...set(S0),
    ...get(S1), ...get(P), ...load64(8), XOR64, ...set(S1),
    ...i64(0), ...set(R0), ...i64(0), ...set(R1),
  ]
  for (let k = 0; k < 16; k++) {
    body.push(...get(k < 8 ? S0 : S1), ...i64(8 * (k % 8)), SHR64, WRAP, ...i32(255), AND32, ...i32(4), SHL32, 0x22, I) // local.tee $i
    body.push(...load64(4096 * k), ...get(R0), XOR64, ...set(R0))
    body.push(...get(I), ...load64(4096 * k + 8), ...get(R1), XOR64, ...set(R1))
  }
  body.push(
    ...get(R0), ...set(S0), ...get(R1), ...set(S1),
    ...get(P), ...i32(16), ADD32, ...set(P),
    0x0c, 0, // br 0 (loop again)
    0x0b, 0x0b, // end loop, end block
    ...i32(0), ...get(S0), ...store64(STATE),
    ...i32(0), ...get(S1), ...store64(STATE + 8),
    0x0b, // end function
  )
  const locals = [2, 4, 0x7e, 2, 0x7f] // 4 i64, 2 i32
  const code = [...locals, ...body]
  const section = (id: number, content: number[]) => [id, ...leb(content.length), ...content]
  const name = (text: string) => [...leb(text.length), ...Array.from(text, (c) => c.charCodeAt(0))]
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 0]), // type: (i32, i32) -> ()
    ...section(2, [1, ...name('env'), ...name('memory'), 2, 1, ...leb(PAGES), ...leb(PAGES)]), // import env.memory, PAGES pages, fixed
    ...section(3, [1, 0]), // one function of type 0
    ...section(7, [1, ...name('ghash'), 0, 0]),
    ...section(10, [1, ...leb(code.length), ...code]),
  ]
  return new WebAssembly.Module(new Uint8Array(bytes))
}

let compiled: WebAssembly.Module | undefined

/** One writer's AES-256-GCM: nonces are 96 bits, given per line as a 64-bit sequence number. */
export class BatchGcm {
  readonly #key: KeyObject | Buffer
  readonly #ecb: Cipher
  readonly #ghash: (at: number, blocks: number) => void
  /** The WebAssembly memory as bytes and as a view (fixed: see PAGES). */
  readonly #bytes: Buffer
  readonly #view: DataView
  /** Counter blocks (their keystream comes back in a new buffer). */
  #counters = Buffer.alloc(0)
  #countersView = new DataView(this.#counters.buffer, this.#counters.byteOffset, 0)

  constructor(key: KeyObject | Buffer) {
    this.#key = key
    this.#ecb = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false)
    const h = this.#ecb.update(Buffer.alloc(16))
    compiled ??= ghashModule()
    const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES })
    const exports = new WebAssembly.Instance(compiled, { env: { memory } }).exports as { ghash: (at: number, blocks: number) => void }
    this.#ghash = exports.ghash
    this.#bytes = Buffer.from(memory.buffer)
    this.#view = new DataView(memory.buffer)
    // The tables, big-endian words so that the bytes are in GCM's order.
    const t = ghashTables([h.readInt32BE(0), h.readInt32BE(4), h.readInt32BE(8), h.readInt32BE(12)])
    for (let i = 0; i < t.length; i++) this.#view.setInt32(4 * i, t[i]!)
  }

  /**
   * Encrypt `plaintexts[i]` (UTF-8) under nonce `seq + i`, each with the tag of the line before it as
   * associated data (`tags` words 0-3 hold the tag before the first line; `chained` false: none).
   * Fills `ciphertexts[i]` (base64url) and `tags` words 4(i+1) to 4(i+1)+3.
   */
  encrypt(plaintexts: readonly string[], seq: number, chained: boolean, ciphertexts: string[], tags: Int32Array): void {
    const n = plaintexts.length
    let from = 0
    while (from < n) {
      // Lay the plaintexts out from 16-byte boundaries (UTF-8 takes at most 3 bytes per UTF-16 unit).
      let to = from
      let capacity = DATA
      while (to < n) {
        const need = (plaintexts[to]!.length * 3 + 15) & ~15
        if (capacity + need > DATA_END) break
        capacity += need
        to++
      }
      if (to === from) {
        this.#encryptAlone(plaintexts[from]!, seq + from, chained || from > 0, ciphertexts, tags, from)
        from++
      } else {
        this.#encryptChunk(plaintexts, from, to, seq, chained, ciphertexts, tags)
        from = to
      }
    }
  }

  /** Lines from..to-1, which fit the memory together. */
  #encryptChunk(plaintexts: readonly string[], from: number, to: number, seq: number, chained: boolean, ciphertexts: string[], tags: Int32Array): void {
    const data = this.#bytes
    const view = this.#view
    const offsets = new Array<number>(to - from)
    const lengths = new Array<number>(to - from)
    let offset = DATA
    let blocks = 0
    for (let i = from; i < to; i++) {
      const length = data.write(plaintexts[i]!, offset)
      const end = (offset + length + 15) & ~15
      if (end > offset + length) data.fill(0, offset + length, end)
      offsets[i - from] = offset
      lengths[i - from] = length
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
    for (let i = from; i < to; i++) {
      const s = seq + i
      const high = Math.floor(s / 0x1_0000_0000)
      const low = s >>> 0
      const count = 1 + ((lengths[i - from]! + 15) >>> 4)
      for (let c = 1; c <= count; c++, at += 16) {
        counters.setInt32(at, 0)
        counters.setInt32(at + 4, high)
        counters.setInt32(at + 8, low)
        counters.setInt32(at + 12, c)
      }
    }
    const stream = this.#ecb.update(this.#counters.subarray(0, at))
    const keys = new DataView(stream.buffer, stream.byteOffset, stream.length)

    const ghash = this.#ghash
    let k = 0
    for (let i = from; i < to; i++) {
      const start = offsets[i - from]!
      const length = lengths[i - from]!
      const j0 = k
      k += 16
      // XOR the keystream in: whole words, then the bytes of a partial last word. The padding of the
      // last block stays zero, as GHASH wants it.
      const words = start + (length & ~3)
      let p = start
      for (; p < words; p += 4, k += 4) view.setInt32(p, view.getInt32(p) ^ keys.getInt32(k))
      for (let b = p; b < start + length; b++, k++) data[b] = data[b]! ^ stream[k]!
      k = j0 + 16 + 16 * ((length + 15) >>> 4)
      // GHASH from a zero state: the associated data (the previous tag), the ciphertext, then the
      // lengths in bits.
      view.setInt32(STATE, 0)
      view.setInt32(STATE + 4, 0)
      view.setInt32(STATE + 8, 0)
      view.setInt32(STATE + 12, 0)
      const tagAt = 4 * i
      if (chained || i > 0) {
        view.setInt32(SCRATCH, tags[tagAt]!)
        view.setInt32(SCRATCH + 4, tags[tagAt + 1]!)
        view.setInt32(SCRATCH + 8, tags[tagAt + 2]!)
        view.setInt32(SCRATCH + 12, tags[tagAt + 3]!)
        ghash(SCRATCH, 1)
      }
      ghash(start, (length + 15) >>> 4)
      view.setInt32(SCRATCH, 0)
      view.setInt32(SCRATCH + 4, chained || i > 0 ? 128 : 0)
      view.setInt32(SCRATCH + 8, Math.floor(length / 0x2000_0000))
      view.setInt32(SCRATCH + 12, (length * 8) >>> 0)
      ghash(SCRATCH, 1)
      tags[tagAt + 4] = view.getInt32(STATE) ^ keys.getInt32(j0)
      tags[tagAt + 5] = view.getInt32(STATE + 4) ^ keys.getInt32(j0 + 4)
      tags[tagAt + 6] = view.getInt32(STATE + 8) ^ keys.getInt32(j0 + 8)
      tags[tagAt + 7] = view.getInt32(STATE + 12) ^ keys.getInt32(j0 + 12)
      ciphertexts[i] = data.toString('base64url', start, start + length)
    }
    // Leave no plaintext behind in the scratch memory.
    data.fill(0, DATA, offset)
  }

  /** A line longer than the memory holds: node:crypto's GCM, the same bytes (rare: ~64,000 characters). */
  #encryptAlone(plaintext: string, seq: number, aad: boolean, ciphertexts: string[], tags: Int32Array, i: number): void {
    const cipher = createCipheriv('aes-256-gcm', this.#key, writeNonce(seq))
    const tagAt = 4 * i
    if (aad) {
      const previous = Buffer.alloc(16)
      for (let w = 0; w < 4; w++) previous.writeInt32BE(tags[tagAt + w]!, 4 * w)
      cipher.setAAD(previous)
    }
    ciphertexts[i] = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]).toString('base64url')
    const tag = cipher.getAuthTag()
    for (let w = 0; w < 4; w++) tags[tagAt + 4 + w] = tag.readInt32BE(4 * w)
  }
}
