// AES-256-GCM for many lines at once: the same bytes as node:crypto's createCipheriv('aes-256-gcm'),
// one native call per batch instead of one cipher object per line.
//
// Why not createCipheriv per line: each call builds a cipher object, looks the algorithm up by name in
// OpenSSL, expands the key and sets up GHASH again: ~30,000 instructions per line, about half of what
// an audit event cost in all, for ~200 bytes of data. Node offers no way to re-use a GCM context with a
// new nonce. So here GCM is put together from its two parts (NIST SP 800-38D):
//  - the counter-mode keystream, including E(K, J0) for the tag, from ONE AES-256-ECB update over the
//    counter blocks of every line of the batch (AES-NI in OpenSSL, constant-time);
//  - GHASH with per-key tables (32 tables of 16 entries, 8 KiB): 32 lookups per block, in
//    WebAssembly (below; ~7 instructions per lookup, where JavaScript took ~40: V8 keeps
//    re-deriving the typed array's address and spills). Table lookups whose index depends on secret
//    data are not constant-time (the same trade-off as OpenSSL's and noble's table-driven GHASH when
//    no carry-less multiply is available): a process on the same machine measuring cache timing while
//    the sink writes could learn about H. That is an attacker already running code on the host; the
//    log's threat model is one who reads or edits the files. The package README says so.
// @noble/ciphers has a GHASH, but its tables are rebuilt for every message (one per line here).
// The lines themselves are assembled here too, as bytes, in the same WebAssembly memory: the writer's
// constant text, the sequence number's digits, and base64url of the ciphertext and the tag. The
// keystream is copied into the memory once per chunk, and then each line is ONE call into WebAssembly
// (XOR, GHASH, tag, text). One copy out of the memory per chunk of lines; no string per ciphertext,
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

// The WebAssembly module, assembled here from its opcodes (no toolchain needed). Three functions:
// `line` does everything one line needs once its plaintext and keystream are in memory (below), and
// calls `ghash` and `b64`. One call per line: each call from JavaScript into WebAssembly, and each
// small copy of the line's constant parts from JavaScript (TypedArray#set), cost more than the work.
//
// Memory (fixed, see PAGES): the GHASH tables at 0 (entry j, n at 256j + 16n: the 16 bytes of
// n · x^(4j) · H in GCM's byte order); base64url of every 12-bit value as two characters at PAIRS; the
// GHASH state, a scratch block and the chain's link (the previous tag) from STATE; base64url's alphabet;
// the writer's line template (4 lengths, then the 4 parts, 256 bytes each) at TEMPLATE; plaintexts from
// DATA (16-byte aligned, encrypted in place), their keystreams from KS, finished lines from OUT.
// Bytes stay in GCM order throughout: a block is loaded as two little-endian i64s, so byte k of the
// block is bits 8(k mod 8).. of one of them, and XOR of the loaded values is XOR of the bytes.
//
//   (func $ghash (param $p i32) (param $blocks i32)   ;; blocks at $p: state = (state ^ block) · H
//     (local $s0 i64) (local $s1 i64) (local $r0 i64) (local $r1 i64) (local $end i32) (local $i i32)
//     s0 = load64(STATE); s1 = load64(STATE + 8); end = p + 16 * blocks
//     block: loop: if p >= end break
//       s0 ^= load64(p); s1 ^= load64(p + 8); r0 = r1 = 0
//       for j in 0..31: nibble j is the high half of byte j/2 for even j, the low half for odd j; its
//                       table offset (nibble · 16) is taken in one mask: i = wrap(s >> (shift - 4)) & 0xf0
//                       r0 ^= load64(i + 256j); r1 ^= load64(i + 256j + 8)
//       s0 = r0; s1 = r1; p += 16; continue
//     store64(STATE, s0); store64(STATE + 8, s1)
//
//   (func $b64 (param $src i32) (param $len i32) (param $dst i32) (result i32)
//     base64url (no padding) of the $len bytes at $src, written at $dst; returns the end of the text.
//     per 3 bytes v: store16(dst, load16(PAIRS + 2 (v >> 12))); store16(dst + 2, load16(PAIRS + 2 (v & 4095)))
//     then 2 characters for 1 byte left over, 3 for 2
//
//   (func $line (param $p i32) (param $len i32) (param $ks i32) (param $aad i32) (param $out i32) (param $at i32) (result i32)
//     the line of the plaintext at $p ($len bytes) with its keystream at $ks (E(K, J0), then the
//     counter blocks), chained to the tag at LINK when $aad; the head of the template goes at $out and
//     the sequence number's digits are already between it and $at. Returns the end of the line.
//     XOR the keystream in, 8 bytes at a time; zero the rest of the last block (GHASH pads with zeros)
//     GHASH from a zero state: LINK (when $aad), the ciphertext, the lengths block (in bits, big-endian)
//     LINK = state ^ E(K, J0)  (the tag, and the next line's associated data)
//     copy the template's parts around b64(ciphertext) and b64(tag)
/**
 * The WebAssembly memory is sized once and never grows. `memory.grow()` detaches the old ArrayBuffer,
 * and the first detach of any ArrayBuffer in a process invalidates V8's "array buffer detaching"
 * protector: every optimized function of the whole process that touches a typed array (the app's, Node's
 * http and stream code, the session's seal) is deoptimized at once and recompiled with detach checks for
 * good. A batch is therefore encrypted in chunks of lines that fit, and a single line too long for the
 * memory (a huge client field with maxFieldLength raised) takes node:crypto's own GCM. 768 KiB per writer.
 */
const PAGES = 12
const PAIRS = 8192
const STATE = 16384
const SCRATCH = STATE + 16
const LINK = STATE + 32
const ALPHABET = STATE + 64
const TEMPLATE = STATE + 128
const PART = 256
const DATA = 32768
const DATA_END = 262144
const KS = DATA_END
const KS_END = 491520
const OUT = KS_END
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

function sleb(value: number | bigint): number[] {
  let v = BigInt(value)
  const out: number[] = []
  for (;;) {
    const byte = Number(v & 0x7fn)
    v >>= 7n
    if ((v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0)) return [...out, byte]
    out.push(byte | 0x80)
  }
}

const get = (local: number) => [0x20, local]
const set = (local: number) => [0x21, local]
const tee = (local: number) => [0x22, local]
const i32 = (value: number) => [0x41, ...sleb(value)]
const i64 = (value: number | bigint) => [0x42, ...sleb(value)]
const load64 = (offset: number) => [0x29, 3, ...leb(offset)]
const store64 = (offset: number) => [0x37, 3, ...leb(offset)]
const load32 = (offset: number) => [0x28, 2, ...leb(offset)]
const store32 = (offset: number) => [0x36, 2, ...leb(offset)]
const load16 = (offset: number) => [0x2f, 1, ...leb(offset)]
const store16 = (offset: number) => [0x3b, 1, ...leb(offset)]
const load8 = (offset: number) => [0x2d, 0, ...leb(offset)]
const store8 = (offset: number) => [0x3a, 0, ...leb(offset)]
const call = (func: number) => [0x10, func]
const MEMORY_COPY = [0xfc, 10, 0, 0]
const [XOR64, SHR64, WRAP, AND32, SHL32, ADD32, MUL32, GEU32, SUB32, OR32, SHRU32, REMU32, EQ32] = [0x85, 0x88, 0xa7, 0x71, 0x74, 0x6a, 0x6c, 0x4f, 0x6b, 0x72, 0x76, 0x70, 0x46]
const [BLOCK, LOOP, IF, END, BR, BR_IF] = [0x02, 0x03, 0x04, 0x0b, 0x0c, 0x0d]
const VOID = 0x40
const [GHASH, B64] = [0, 1]

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
    // Nibble j: the high half of byte j/2 for even j, the low half for odd j; its table offset is the
    // nibble times 16, which one shift (4 less) and one mask give.
    const shift = 8 * ((j >> 1) % 8) + (j % 2 === 0 ? 4 : 0)
    const index = shift >= 4 ? [...(shift > 4 ? [...i64(shift - 4), SHR64] : []), WRAP] : [WRAP, ...i32(4), SHL32]
    body.push(...get(j < 16 ? S0 : S1), ...index, ...i32(0xf0), AND32, ...tee(I))
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

function b64Body(): number[] {
  const [SRC, LEN, DST, FULL, V] = [0, 1, 2, 3, 4]
  // The two characters of the 12-bit value on the stack.
  const pair = [...i32(1), SHL32, ...load16(PAIRS)]
  const rest = (length: number) => [...get(LEN), ...i32(3), REMU32, ...i32(length), EQ32]
  const byte = (at: number, shift: number) => [...get(SRC), ...load8(at), ...(shift ? [...i32(shift), SHL32] : [])]
  return [
    1, 2, 0x7f, // locals: 2 i32
    ...get(SRC), ...get(LEN), ADD32, ...get(LEN), ...i32(3), REMU32, SUB32, ...set(FULL),
    BLOCK, VOID, LOOP, VOID,
    ...get(SRC), ...get(FULL), GEU32, BR_IF, 1,
    ...byte(0, 16), ...byte(1, 8), OR32, ...byte(2, 0), OR32, ...set(V),
    ...get(DST), ...get(V), ...i32(12), SHRU32, ...pair, ...store16(0),
    ...get(DST), ...get(V), ...i32(4095), AND32, ...pair, ...store16(2),
    ...get(SRC), ...i32(3), ADD32, ...set(SRC),
    ...get(DST), ...i32(4), ADD32, ...set(DST),
    BR, 0,
    END, END,
    ...rest(1), IF, VOID,
    ...get(DST), ...byte(0, 4), ...pair, ...store16(0),
    ...get(DST), ...i32(2), ADD32, ...set(DST),
    END,
    ...rest(2), IF, VOID,
    ...byte(0, 16), ...byte(1, 8), OR32, ...set(V),
    ...get(DST), ...get(V), ...i32(12), SHRU32, ...pair, ...store16(0),
    ...get(DST), ...get(V), ...i32(6), SHRU32, ...i32(63), AND32, ...load8(ALPHABET), ...store8(2),
    ...get(DST), ...i32(3), ADD32, ...set(DST),
    END,
    ...get(DST),
    END,
  ]
}

function lineBody(): number[] {
  const [P, LEN, KSP, AAD, OUTP, AT, Q, K, END_AT, O] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
  // Copy template part `part` (its length is the i32 at TEMPLATE + 4 part) to O; O moves past it.
  const copyPart = (part: number) => [
    ...get(O), ...i32(TEMPLATE + 16 + PART * part), ...i32(0), ...load32(TEMPLATE + 4 * part), ...MEMORY_COPY,
    ...get(O), ...i32(0), ...load32(TEMPLATE + 4 * part), ADD32, ...set(O),
  ]
  return [
    1, 4, 0x7f, // locals: 4 i32
    // XOR the keystream (after E(K, J0)) into the plaintext, 8 bytes at a time.
    ...get(P), ...set(Q), ...get(KSP), ...i32(16), ADD32, ...set(K),
    ...get(P), ...get(LEN), ADD32, ...set(END_AT),
    BLOCK, VOID, LOOP, VOID,
    ...get(Q), ...get(END_AT), GEU32, BR_IF, 1,
    ...get(Q), ...get(Q), ...load64(0), ...get(K), ...load64(0), XOR64, ...store64(0),
    ...get(Q), ...i32(8), ADD32, ...set(Q), ...get(K), ...i32(8), ADD32, ...set(K),
    BR, 0,
    END, END,
    // Zero what the words went past, to the end of the last block.
    ...get(END_AT), ...set(Q),
    ...get(P), ...get(LEN), ...i32(15), ADD32, ...i32(-16), AND32, ADD32, ...set(END_AT),
    BLOCK, VOID, LOOP, VOID,
    ...get(Q), ...get(END_AT), GEU32, BR_IF, 1,
    ...get(Q), ...i32(0), ...store8(0),
    ...get(Q), ...i32(1), ADD32, ...set(Q),
    BR, 0,
    END, END,
    // GHASH: the previous tag, the ciphertext, then the lengths in bits (64-bit big-endian each).
    ...i32(0), ...i64(0), ...store64(STATE), ...i32(0), ...i64(0), ...store64(STATE + 8),
    ...get(AAD), IF, VOID, ...i32(LINK), ...i32(1), ...call(GHASH), END,
    ...get(P), ...get(LEN), ...i32(15), ADD32, ...i32(4), SHRU32, ...call(GHASH),
    ...i32(0), ...i64(0), ...store64(SCRATCH),
    ...i32(0), ...i32(0), ...store32(SCRATCH + 8),
    ...get(AAD), IF, VOID, ...i32(0), ...i32(0x80), ...store8(SCRATCH + 7), END,
    ...i32(0), ...get(LEN), ...i32(21), SHRU32, ...store8(SCRATCH + 12),
    ...i32(0), ...get(LEN), ...i32(13), SHRU32, ...store8(SCRATCH + 13),
    ...i32(0), ...get(LEN), ...i32(5), SHRU32, ...store8(SCRATCH + 14),
    ...i32(0), ...get(LEN), ...i32(3), SHL32, ...store8(SCRATCH + 15),
    ...i32(SCRATCH), ...i32(1), ...call(GHASH),
    // The tag: the GHASH state XOR E(K, J0).
    ...i32(0), ...i32(0), ...load64(STATE), ...get(KSP), ...load64(0), XOR64, ...store64(LINK),
    ...i32(0), ...i32(0), ...load64(STATE + 8), ...get(KSP), ...load64(8), XOR64, ...store64(LINK + 8),
    // The line: head, (digits, already there), middle, ciphertext, before the tag, tag, end.
    ...get(OUTP), ...set(O), ...copyPart(0),
    ...get(AT), ...set(O), ...copyPart(1),
    ...get(P), ...get(LEN), ...get(O), ...call(B64), ...set(O),
    ...copyPart(2),
    ...i32(LINK), ...i32(16), ...get(O), ...call(B64), ...set(O),
    ...copyPart(3),
    ...get(O),
    END,
  ]
}

function gcmModule(): WebAssembly.Module {
  const section = (id: number, content: number[]) => [id, ...leb(content.length), ...content]
  const name = (text: string) => [...leb(text.length), ...Array.from(text, (c) => c.charCodeAt(0))]
  const bodies = [ghashBody(), b64Body(), lineBody()]
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    // types: 0 = (i32, i32) -> (), 1 = (i32, i32, i32) -> i32, 2 = (i32 x 6) -> i32
    ...section(1, [3, 0x60, 2, 0x7f, 0x7f, 0, 0x60, 3, 0x7f, 0x7f, 0x7f, 1, 0x7f, 0x60, 6, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 1, 0x7f]),
    ...section(2, [1, ...name('env'), ...name('memory'), 2, 1, ...leb(PAGES), ...leb(PAGES)]), // import env.memory, PAGES pages, fixed
    ...section(3, [3, 0, 1, 2]), // three functions, of types 0, 1 and 2
    ...section(7, [1, ...name('line'), 0, 2]),
    ...section(10, [3, ...bodies.flatMap((body) => [...leb(body.length), ...body])]),
  ]
  return new WebAssembly.Module(new Uint8Array(bytes))
}

let compiled: WebAssembly.Module | undefined

/** The exported `line` (see the module's description): returns the end of the line. */
type LineFunction = (p: number, length: number, ks: number, aad: number, out: number, at: number) => number

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * One writer's AES-256-GCM and line format: nonces are 96 bits, given per line as a 64-bit sequence
 * number; each line's associated data is the previous line's tag (the chain, chain.ts).
 */
export class BatchGcm {
  readonly #key: KeyObject | Buffer
  readonly #template: LineTemplate
  readonly #ecb: Cipher
  readonly #line: LineFunction
  /** The WebAssembly memory as bytes and as a view (fixed: see PAGES). */
  readonly #bytes: Buffer
  readonly #view: DataView
  /** Where the sequence number's digits go in a line, and the most a line adds to 4 bytes per character of its plaintext. */
  readonly #headLength: number
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
    this.#line = (new WebAssembly.Instance(compiled, { env: { memory } }).exports as { line: LineFunction }).line
    this.#bytes = Buffer.from(memory.buffer)
    this.#view = new DataView(memory.buffer)
    // The tables, big-endian words so that the bytes are in GCM's order.
    const t = ghashTables([h.readInt32BE(0), h.readInt32BE(4), h.readInt32BE(8), h.readInt32BE(12)])
    for (let i = 0; i < t.length; i++) this.#view.setInt32(4 * i, t[i]!)
    for (let v = 0; v < 4096; v++) {
      this.#bytes[PAIRS + 2 * v] = BASE64URL.charCodeAt(v >> 6)
      this.#bytes[PAIRS + 2 * v + 1] = BASE64URL.charCodeAt(v & 63)
    }
    this.#bytes.write(BASE64URL, ALPHABET, 'latin1')
    const parts = [template.head, template.middle, template.beforeTag, template.end]
    parts.forEach((part, i) => {
      if (part.length > PART) throw new RangeError('line template part too long')
      this.#view.setInt32(TEMPLATE + 4 * i, part.length, true)
      this.#bytes.write(part, TEMPLATE + 16 + PART * i, 'latin1')
    })
    this.#headLength = template.head.length
    // 16 digits of a sequence number and the 22 characters of a tag: a line is at most this plus 4 bytes
    // per UTF-16 unit of its plaintext (3 bytes of UTF-8, as 4 base64url characters).
    this.#lineExtra = parts.reduce((sum, part) => sum + part.length, 0) + 16 + 22
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
      // with their keystreams (one more block each), and make sure their lines fit the output area.
      let to = from
      let data = DATA
      let ks = KS
      let out = OUT
      while (to < n) {
        const length = plaintexts[to]!.length
        const needData = (length * 3 + 15) & ~15
        const needOut = this.#lineExtra + 4 * length
        if (data + needData > DATA_END || ks + needData + 16 > KS_END || out + needOut > OUT_END) break
        data += needData
        ks += needData + 16
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
      // The bytes after the plaintext, to its block's end, are zeroed by `line` after the XOR.
      const length = data.write(plaintexts[i]!, offset)
      offsets[i - from] = offset
      lengths[i - from] = length
      offset = (offset + length + 15) & ~15
      // J0, then one counter block per 16 bytes.
      blocks += 1 + ((length + 15) >>> 4)
    }
    // Counter blocks: nonce = 4 zero bytes + the 64-bit sequence number, then a 32-bit counter
    // (1 for J0, 2 onwards for the data). Their keystream goes to KS, in the same order.
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
    data.set(this.#ecb.update(this.#counters.subarray(0, at)), KS)

    view.setInt32(LINK, link[0]!)
    view.setInt32(LINK + 4, link[1]!)
    view.setInt32(LINK + 8, link[2]!)
    view.setInt32(LINK + 12, link[3]!)
    const line = this.#line
    let ks = KS
    let out = OUT
    for (let i = from; i < to; i++) {
      const length = lengths[i - from]!
      const digitsEnd = this.#digits(seq + i, out + this.#headLength)
      out = line(offsets[i - from]!, length, ks, chained || i > 0 ? 1 : 0, out, digitsEnd)
      ks += 16 + 16 * ((length + 15) >>> 4)
    }
    link[0] = view.getInt32(LINK)
    link[1] = view.getInt32(LINK + 4)
    link[2] = view.getInt32(LINK + 8)
    link[3] = view.getInt32(LINK + 12)
    const lines = Buffer.allocUnsafe(out - OUT)
    data.copy(lines, 0, OUT, out)
    // Leave no plaintext or keystream behind in the memory.
    data.fill(0, DATA, offset)
    data.fill(0, KS, ks)
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
