// AES-256-GCM for many lines at once: the same bytes as node:crypto's createCipheriv('aes-256-gcm'),
// one native call per batch instead of one cipher object per line.
//
// Why not createCipheriv per line: each call builds a cipher object, looks the algorithm up by name in
// OpenSSL, expands the key and sets up GHASH again: ~30,000 instructions per line, about half of what
// an audit event cost in all, for ~200 bytes of data. Node offers no way to re-use a GCM context with a
// new nonce. So here GCM is put together from its two parts (NIST SP 800-38D):
//  - the counter-mode keystream, including E(K, J0) for the tag, from ONE AES-256-ECB update over the
//    counter blocks of every line of the batch (AES-NI in OpenSSL, constant-time);
//  - GHASH with per-key tables (32 tables of 16 entries, 8 KiB): 32 lookups per block, in a small
//    WebAssembly function (below; ~10 instructions per lookup, where JavaScript took ~40: V8 keeps
//    re-deriving the typed array's address and spills). Table lookups whose index depends on secret
//    data are not constant-time (the same trade-off as OpenSSL's and noble's table-driven GHASH when
//    no carry-less multiply is available): a process on the same machine measuring cache timing while
//    the sink writes could learn about H. That is an attacker already running code on the host; the
//    log's threat model is one who reads or edits the files. The package README says so.
// @noble/ciphers has a GHASH, but its tables are rebuilt for every message (one per line here).
// The lines themselves are assembled here too, as bytes, in the same WebAssembly memory: the writer's
// constant text, the sequence number's digits, and base64url of the ciphertext and the tag (a second
// small WebAssembly function). One copy out of the memory per chunk of lines; no string per ciphertext,
// per line or per batch (those strings, their concatenation and the final latin1 copy of the rope cost
// ~1,500 instructions per line and garbage for the collector).
// The tests check every line against node:crypto's decryption and against the per-line encryption.

import { createCipheriv, type Cipher, type KeyObject } from 'node:crypto'
import { formatLine, writeNonce, type LineTemplate } from './format.js'

/** A 128-bit value as four 32-bit words, most significant first (GCM's byte order). */
type Block = [number, number, number, number]

/**
 * Per-key GHASH tables, one per 4-bit nibble of a block (32 tables of 16 entries, 8 KiB): entry
 * (64j + 4n) holds n · x^(4j) · H, for nibble n at position j (the high half of byte j/2 for even j,
 * the low half for odd j; bit 3 of a nibble is its lowest power of x, as in GCM's bit order).
 * Nibbles rather than bytes: twice the lookups per block, but 8 KiB of tables stay in the L1 cache
 * where 64 KiB (16 tables of 256) missed it on every lookup in a busy server (callgrind: ~180 misses
 * per request with two events), which cost more than the extra lookups.
 */
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
  const t = new Int32Array(32 * 16 * 4)
  for (let j = 0; j < 32; j++) {
    const base = j * 16 * 4
    for (let n = 1; n < 16; n++) {
      // The lowest set bit of n, value 2^p, is coefficient x^(4j + 3 - p).
      const p = 31 - Math.clz32(n & -n)
      const rest = base + 4 * (n & ~(1 << p))
      const vi = 4 * (4 * j + 3 - p)
      const at = base + 4 * n
      t[at] = t[rest]! ^ v[vi]!
      t[at + 1] = t[rest + 1]! ^ v[vi + 1]!
      t[at + 2] = t[rest + 2]! ^ v[vi + 2]!
      t[at + 3] = t[rest + 3]! ^ v[vi + 3]!
    }
  }
  return t
}

// The GHASH function in WebAssembly, assembled here from its opcodes (no toolchain needed). Memory:
// the tables at 0 (entry j, n at 256j + 16n: the 16 bytes of n · x^(4j) · H in GCM's byte order),
// the 16-byte state at STATE, a 16-byte scratch block at SCRATCH, line data from DATA (layout below). Bytes stay in
// GCM order throughout: a block is loaded as two little-endian i64s, so byte k of the block is bits
// 8(k mod 8).. of one of them, and XOR of the loaded values is XOR of the bytes; no byte swap needed.
//
//   (func (export "ghash") (param $p i32) (param $blocks i32)   ;; blocks at $p: state = (state ^ block) · H
//     (local $s0 i64) (local $s1 i64) (local $r0 i64) (local $r1 i64) (local $end i32) (local $i i32)
//     s0 = load64(STATE); s1 = load64(STATE + 8); end = p + 16 * blocks
//     block: loop: if p >= end break
//       s0 ^= load64(p); s1 ^= load64(p + 8); r0 = r1 = 0
//       for j in 0..31: i = (wrap((j < 16 ? s0 : s1) >> (8((j/2) mod 8) + (j even ? 4 : 0))) & 15) << 4
//                       r0 ^= load64(i + 256j); r1 ^= load64(i + 256j + 8)
//       s0 = r0; s1 = r1; p += 16; continue
//     store64(STATE, s0); store64(STATE + 8, s1)
/**
 * The WebAssembly memory is sized once and never grows. `memory.grow()` detaches the old ArrayBuffer,
 * and the first detach of any ArrayBuffer in a process invalidates V8's "array buffer detaching"
 * protector: every optimized function of the whole process that touches a typed array (the app's, Node's
 * http and stream code, the session's seal) is deoptimized at once and recompiled with detach checks for
 * good. A batch is therefore encrypted in chunks of lines that fit, and a single line too long for the
 * memory (a huge client field with maxFieldLength raised) takes node:crypto's own GCM.
 *
 * Layout: the tables (8 KiB, room for 64), the GHASH state, a scratch block and base64url's alphabet, then the
 * plaintexts (encrypted in place) up to DATA_END, then the finished lines from OUT to the end.
 */
const PAGES = 8
const STATE = 65536
const SCRATCH = STATE + 16
const ALPHABET = STATE + 32
const DATA = STATE + 128
const DATA_END = 4 * 65536
const OUT = DATA_END
const OUT_END = PAGES * 65536

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

const get = (local: number) => [0x20, local]
const set = (local: number) => [0x21, local]
const i32 = (value: number) => [0x41, ...sleb(value)]
const i64 = (value: number) => [0x42, ...sleb(value)]
const load64 = (offset: number) => [0x29, 3, ...leb(offset)]
const store64 = (offset: number) => [0x37, 3, ...leb(offset)]
const load8 = (offset: number) => [0x2d, 0, ...leb(offset)]
const store8 = (offset: number) => [0x3a, 0, ...leb(offset)]
const [XOR64, SHR64, WRAP, AND32, SHL32, ADD32, MUL32, GEU32, SUB32, OR32, SHRU32, REMU32, EQ32] = [0x85, 0x88, 0xa7, 0x71, 0x74, 0x6a, 0x6c, 0x4f, 0x6b, 0x72, 0x76, 0x70, 0x46]
const [BLOCK, LOOP, IF, ELSE, END, BR, BR_IF] = [0x02, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d]
const VOID = 0x40

function ghashBody(): number[] {
  const [P, BLOCKS, S0, S1, R0, R1, END_AT, I] = [0, 1, 2, 3, 4, 5, 6, 7]
  const body: number[] = [
    2, 4, 0x7e, 2, 0x7f, // locals: 4 i64, 2 i32
    ...i32(0), ...load64(STATE), ...set(S0),
    ...i32(0), ...load64(STATE + 8), ...set(S1),
    ...get(P), ...get(BLOCKS), ...i32(16), MUL32, ADD32, ...set(END_AT),
    BLOCK, VOID, LOOP, VOID,
    ...get(P), ...get(END_AT), GEU32, BR_IF, 1, // out of the block
    ...get(S0), ...get(P), ...load64(0), XOR64, ...set(S0),
    ...get(S1), ...get(P), ...load64(8), XOR64, ...set(S1),
    ...i64(0), ...set(R0), ...i64(0), ...set(R1),
  ]
  for (let j = 0; j < 32; j++) {
    // Nibble j: the high half of byte j/2 for even j, the low half for odd j.
    const shift = 8 * ((j >> 1) % 8) + (j % 2 === 0 ? 4 : 0)
    body.push(...get(j < 16 ? S0 : S1), ...i64(shift), SHR64, WRAP, ...i32(15), AND32, ...i32(4), SHL32, 0x22, I) // local.tee $i
    body.push(...load64(256 * j), ...get(R0), XOR64, ...set(R0))
    body.push(...get(I), ...load64(256 * j + 8), ...get(R1), XOR64, ...set(R1))
  }
  body.push(
    ...get(R0), ...set(S0), ...get(R1), ...set(S1),
    ...get(P), ...i32(16), ADD32, ...set(P),
    BR, 0, // loop again
    END, END,
    ...i32(0), ...get(S0), ...store64(STATE),
    ...i32(0), ...get(S1), ...store64(STATE + 8),
    END,
  )
  return body
}

//   (func (export "b64") (param $src i32) (param $len i32) (param $dst i32) (result i32)
//     base64url (no padding) of the $len bytes at $src, written at $dst; returns the end of the text.
//     (local $full i32) (local $v i32)
//     full = src + len - len % 3
//     while src < full: v = src[0] << 16 | src[1] << 8 | src[2]; four characters ALPHABET[v >> 18 ...]
//     then 2 characters for 1 byte left over, 3 for 2
function b64Body(): number[] {
  const [SRC, LEN, DST, FULL, V] = [0, 1, 2, 3, 4]
  const char = (at: number, shift: number) => [...get(DST), ...get(V), ...(shift ? [...i32(shift), SHRU32] : []), ...(shift === 18 ? [] : [...i32(63), AND32]), ...load8(ALPHABET), ...store8(at)]
  const rest = (length: number) => [...get(LEN), ...i32(3), REMU32, ...i32(length), EQ32]
  return [
    1, 2, 0x7f, // locals: 2 i32
    ...get(SRC), ...get(LEN), ADD32, ...get(LEN), ...i32(3), REMU32, SUB32, ...set(FULL),
    BLOCK, VOID, LOOP, VOID,
    ...get(SRC), ...get(FULL), GEU32, BR_IF, 1,
    ...get(SRC), ...load8(0), ...i32(16), SHL32, ...get(SRC), ...load8(1), ...i32(8), SHL32, OR32, ...get(SRC), ...load8(2), OR32, ...set(V),
    ...char(0, 18), ...char(1, 12), ...char(2, 6), ...char(3, 0),
    ...get(SRC), ...i32(3), ADD32, ...set(SRC),
    ...get(DST), ...i32(4), ADD32, ...set(DST),
    BR, 0,
    END, END,
    ...rest(1), IF, VOID,
    ...get(SRC), ...load8(0), ...i32(16), SHL32, ...set(V),
    ...char(0, 18), ...char(1, 12),
    ...get(DST), ...i32(2), ADD32, ...set(DST),
    END,
    ...rest(2), IF, VOID,
    ...get(SRC), ...load8(0), ...i32(16), SHL32, ...get(SRC), ...load8(1), ...i32(8), SHL32, OR32, ...set(V),
    ...char(0, 18), ...char(1, 12), ...char(2, 6),
    ...get(DST), ...i32(3), ADD32, ...set(DST),
    END,
    ...get(DST),
    END,
  ]
}

function gcmModule(): WebAssembly.Module {
  const section = (id: number, content: number[]) => [id, ...leb(content.length), ...content]
  const name = (text: string) => [...leb(text.length), ...Array.from(text, (c) => c.charCodeAt(0))]
  const ghash = ghashBody()
  const b64 = b64Body()
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    // types: 0 = (i32, i32) -> (), 1 = (i32, i32, i32) -> i32
    ...section(1, [2, 0x60, 2, 0x7f, 0x7f, 0, 0x60, 3, 0x7f, 0x7f, 0x7f, 1, 0x7f]),
    ...section(2, [1, ...name('env'), ...name('memory'), 2, 1, ...leb(PAGES), ...leb(PAGES)]), // import env.memory, PAGES pages, fixed
    ...section(3, [2, 0, 1]), // two functions, of types 0 and 1
    ...section(7, [2, ...name('ghash'), 0, 0, ...name('b64'), 0, 1]),
    ...section(10, [2, ...leb(ghash.length), ...ghash, ...leb(b64.length), ...b64]),
  ]
  return new WebAssembly.Module(new Uint8Array(bytes))
}

let compiled: WebAssembly.Module | undefined

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * One writer's AES-256-GCM and line format: nonces are 96 bits, given per line as a 64-bit sequence
 * number; each line's associated data is the previous line's tag (the chain, chain.ts).
 */
export class BatchGcm {
  readonly #key: KeyObject | Buffer
  readonly #template: LineTemplate
  readonly #ecb: Cipher
  readonly #ghash: (at: number, blocks: number) => void
  readonly #b64: (src: number, length: number, dst: number) => number
  /** The WebAssembly memory as bytes and as a view (fixed: see PAGES). */
  readonly #bytes: Buffer
  readonly #view: DataView
  /** The template's parts as bytes, and the most a line adds to 4 bytes per character of its plaintext. */
  readonly #head: Buffer
  readonly #middle: Buffer
  readonly #beforeTag: Buffer
  readonly #end: Buffer
  readonly #lineExtra: number
  /** Counter blocks (their keystream comes back in a new buffer). */
  #counters = Buffer.alloc(0)
  #countersView = new DataView(this.#counters.buffer, this.#counters.byteOffset, 0)

  constructor(key: KeyObject | Buffer, template: LineTemplate) {
    this.#key = key
    this.#template = template
    this.#ecb = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false)
    const h = this.#ecb.update(Buffer.alloc(16))
    compiled ??= gcmModule()
    const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES })
    const exports = new WebAssembly.Instance(compiled, { env: { memory } }).exports as {
      ghash: (at: number, blocks: number) => void
      b64: (src: number, length: number, dst: number) => number
    }
    this.#ghash = exports.ghash
    this.#b64 = exports.b64
    this.#bytes = Buffer.from(memory.buffer)
    this.#view = new DataView(memory.buffer)
    // The tables, big-endian words so that the bytes are in GCM's order.
    const t = ghashTables([h.readInt32BE(0), h.readInt32BE(4), h.readInt32BE(8), h.readInt32BE(12)])
    for (let i = 0; i < t.length; i++) this.#view.setInt32(4 * i, t[i]!)
    this.#bytes.write(BASE64URL, ALPHABET, 'latin1')
    this.#head = Buffer.from(template.head, 'latin1')
    this.#middle = Buffer.from(template.middle, 'latin1')
    this.#beforeTag = Buffer.from(template.beforeTag, 'latin1')
    this.#end = Buffer.from(template.end, 'latin1')
    // 16 digits of a sequence number and the 22 characters of a tag: a line is at most this plus 4 bytes
    // per UTF-16 unit of its plaintext (3 bytes of UTF-8, as 4 base64url characters).
    this.#lineExtra = this.#head.length + 16 + this.#middle.length + this.#beforeTag.length + 22 + this.#end.length
  }

  /**
   * The lines of `plaintexts[i]` (UTF-8) under nonce `seq + i`, each newline-terminated, as bytes.
   * Each line's associated data is the tag of the line before it: `link` holds the tag before the first
   * line (unless `chained` is false: none) and, on return, the tag of the last one.
   */
  lines(plaintexts: readonly string[], seq: number, chained: boolean, link: Int32Array): Buffer {
    const n = plaintexts.length
    const parts: Buffer[] = []
    let from = 0
    while (from < n) {
      // Lay the plaintexts out from 16-byte boundaries (UTF-8 takes at most 3 bytes per UTF-16 unit),
      // and make sure their lines fit the output area.
      let to = from
      let data = DATA
      let out = OUT
      while (to < n) {
        const length = plaintexts[to]!.length
        const needData = (length * 3 + 15) & ~15
        const needOut = this.#lineExtra + 4 * length
        if (data + needData > DATA_END || out + needOut > OUT_END) break
        data += needData
        out += needOut
        to++
      }
      if (to === from) {
        parts.push(this.#encryptAlone(plaintexts[from]!, seq + from, chained || from > 0, link))
        from++
      } else {
        parts.push(this.#encryptChunk(plaintexts, from, to, seq, chained, link))
        from = to
      }
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
  }

  /** Lines from..to-1, which fit the memory together. */
  #encryptChunk(plaintexts: readonly string[], from: number, to: number, seq: number, chained: boolean, link: Int32Array): Buffer {
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
    const b64 = this.#b64
    let k = 0
    let out = OUT
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
      const aad = chained || i > 0
      if (aad) {
        view.setInt32(SCRATCH, link[0]!)
        view.setInt32(SCRATCH + 4, link[1]!)
        view.setInt32(SCRATCH + 8, link[2]!)
        view.setInt32(SCRATCH + 12, link[3]!)
        ghash(SCRATCH, 1)
      }
      ghash(start, (length + 15) >>> 4)
      view.setInt32(SCRATCH, 0)
      view.setInt32(SCRATCH + 4, aad ? 128 : 0)
      view.setInt32(SCRATCH + 8, Math.floor(length / 0x2000_0000))
      view.setInt32(SCRATCH + 12, (length * 8) >>> 0)
      ghash(SCRATCH, 1)
      const t0 = view.getInt32(STATE) ^ keys.getInt32(j0)
      const t1 = view.getInt32(STATE + 4) ^ keys.getInt32(j0 + 4)
      const t2 = view.getInt32(STATE + 8) ^ keys.getInt32(j0 + 8)
      const t3 = view.getInt32(STATE + 12) ^ keys.getInt32(j0 + 12)
      link[0] = t0
      link[1] = t1
      link[2] = t2
      link[3] = t3
      // The line, straight into the output area: no string per ciphertext or line.
      data.set(this.#head, out)
      out = this.#digits(seq + i, out + this.#head.length)
      data.set(this.#middle, out)
      out = b64(start, length, out + this.#middle.length)
      data.set(this.#beforeTag, out)
      view.setInt32(SCRATCH, t0)
      view.setInt32(SCRATCH + 4, t1)
      view.setInt32(SCRATCH + 8, t2)
      view.setInt32(SCRATCH + 12, t3)
      out = b64(SCRATCH, 16, out + this.#beforeTag.length)
      data.set(this.#end, out)
      out += this.#end.length
    }
    const lines = Buffer.allocUnsafe(out - OUT)
    data.copy(lines, 0, OUT, out)
    // Leave no plaintext behind in the scratch memory.
    data.fill(0, DATA, offset)
    return lines
  }

  /** `value` (a sequence number) in decimal at `at`; returns the end. */
  #digits(value: number, at: number): number {
    let digits = 1
    for (let rest = value; rest >= 10; digits++) rest = Math.floor(rest / 10)
    const data = this.#bytes
    let rest = value
    for (let p = at + digits - 1; p >= at; p--) {
      const next = Math.floor(rest / 10)
      data[p] = 48 + rest - 10 * next
      rest = next
    }
    return at + digits
  }

  /** A line longer than the memory holds: node:crypto's GCM, the same bytes (rare: ~64,000 characters). */
  #encryptAlone(plaintext: string, seq: number, aad: boolean, link: Int32Array): Buffer {
    const cipher = createCipheriv('aes-256-gcm', this.#key, writeNonce(seq))
    if (aad) {
      const previous = Buffer.alloc(16)
      for (let w = 0; w < 4; w++) previous.writeInt32BE(link[w]!, 4 * w)
      cipher.setAAD(previous)
    }
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]).toString('base64url')
    const tag = cipher.getAuthTag()
    for (let w = 0; w < 4; w++) link[w] = tag.readInt32BE(4 * w)
    return Buffer.from(formatLine(this.#template, seq, ciphertext, tag.toString('base64url')), 'latin1')
  }
}
