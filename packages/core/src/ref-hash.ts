// HMAC-SHA-256 of a short ASCII string, truncated to 128 bits: the sessionRef of a session id.
//
// Hand-written on purpose: with @noble/hashes, a sessionRef cost ~39,000 instructions (an HMAC
// clone, two hash objects, DataViews over fresh buffers, generic update/padding), about a quarter of
// what an audit event costs on the request path; this costs ~11,500, almost all of it the two SHA-256
// compressions. The key's inner and outer blocks are absorbed once (the "midstates"); a value of at
// most 55 ASCII characters (a session id is 24) then fits one block each for the inner and the outer
// hash. Anything longer or non-ASCII (a rejected cookie can be anything) goes to noble, and the test
// suite checks both paths give the same bytes as node:crypto's HMAC.

const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]

/** The block being compressed (words 0-15), then the rest of its message schedule (16-63). */
const W = new Int32Array(64)
const state = new Int32Array(8)

/** SHA-256's round constants (FIPS 180-4, 4.2.2). */
const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
])

/**
 * One SHA-256 compression of the block in W[0..15], starting from `from`, result into `to`.
 * Eight rounds per pass of the loop: after eight rounds the working variables are back in their
 * roles, so inside a pass they change roles instead of moving. Fully unrolled (64 rounds) this ran
 * ~3,500 instructions instead of ~4,000, but its ~25 KB of machine code missed the instruction cache
 * on every call in a busy server (~425 misses per request with two audit events, callgrind), which
 * cost more than it saved; this is ~3 KB. The tests check it against node:crypto's HMAC-SHA-256.
 */
function compress(from: Int32Array, to: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15]!
    const y = W[i - 2]!
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0
  }
  let a = from[0]!, b = from[1]!, c = from[2]!, d = from[3]!, e = from[4]!, f = from[5]!, g = from[6]!, h = from[7]!
  let t1 = 0
  for (let i = 0; i < 64; i += 8) {
    t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0
    d = (d + t1) | 0
    h = (t1 + (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c))) | 0
    t1 = (g + (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) + ((d & e) ^ (~d & f)) + K[i + 1]! + W[i + 1]!) | 0
    c = (c + t1) | 0
    g = (t1 + (((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) + ((h & a) ^ (h & b) ^ (a & b))) | 0
    t1 = (f + (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) + ((c & d) ^ (~c & e)) + K[i + 2]! + W[i + 2]!) | 0
    b = (b + t1) | 0
    f = (t1 + (((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) + ((g & h) ^ (g & a) ^ (h & a))) | 0
    t1 = (e + (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) + ((b & c) ^ (~b & d)) + K[i + 3]! + W[i + 3]!) | 0
    a = (a + t1) | 0
    e = (t1 + (((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) + ((f & g) ^ (f & h) ^ (g & h))) | 0
    t1 = (d + (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) + ((a & b) ^ (~a & c)) + K[i + 4]! + W[i + 4]!) | 0
    h = (h + t1) | 0
    d = (t1 + (((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) + ((e & f) ^ (e & g) ^ (f & g))) | 0
    t1 = (c + (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) + ((h & a) ^ (~h & b)) + K[i + 5]! + W[i + 5]!) | 0
    g = (g + t1) | 0
    c = (t1 + (((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) + ((d & e) ^ (d & f) ^ (e & f))) | 0
    t1 = (b + (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) + ((g & h) ^ (~g & a)) + K[i + 6]! + W[i + 6]!) | 0
    f = (f + t1) | 0
    b = (t1 + (((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) + ((c & d) ^ (c & e) ^ (d & e))) | 0
    t1 = (a + (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) + ((f & g) ^ (~f & h)) + K[i + 7]! + W[i + 7]!) | 0
    e = (e + t1) | 0
    a = (t1 + (((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) + ((b & c) ^ (b & d) ^ (c & d))) | 0
  }
  to[0] = (from[0]! + a) | 0
  to[1] = (from[1]! + b) | 0
  to[2] = (from[2]! + c) | 0
  to[3] = (from[3]! + d) | 0
  to[4] = (from[4]! + e) | 0
  to[5] = (from[5]! + f) | 0
  to[6] = (from[6]! + g) | 0
  to[7] = (from[7]! + h) | 0
}

/** The SHA-256 states after absorbing the key's inner (0x36) and outer (0x5c) padded blocks. */
export interface HmacMidstates {
  readonly inner: Int32Array
  readonly outer: Int32Array
}

/** Midstates of an HMAC-SHA-256 key of at most 64 bytes (the sessionRef key is 32). */
export function hmacMidstates(key: Uint8Array): HmacMidstates {
  if (key.length > 64) throw new RangeError('hmacMidstates: key longer than one block')
  const iv = Int32Array.from(IV)
  const inner = new Int32Array(8)
  const outer = new Int32Array(8)
  for (const [into, pad] of [[inner, 0x36], [outer, 0x5c]] as const) {
    for (let i = 0; i < 16; i++) {
      let word = 0
      for (let j = 0; j < 4; j++) word = (word << 8) | ((key[4 * i + j] ?? 0) ^ pad)
      W[i] = word
    }
    compress(iv, into)
  }
  return { inner, outer }
}

/** Longest value taken by shortRef: one block holds the value, the 0x80 byte and the 64-bit length. */
export const SHORT_REF_MAX = 55

/** base64url's alphabet as character codes. */
const ALPHABET = Uint8Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', (char) => char.charCodeAt(0))

/** The four base64url characters of a 24-bit group, as codes. */
function b0(group: number): number {
  return ALPHABET[group >>> 18]!
}
function b1(group: number): number {
  return ALPHABET[(group >>> 12) & 63]!
}
function b2(group: number): number {
  return ALPHABET[(group >>> 6) & 63]!
}
function b3(group: number): number {
  return ALPHABET[group & 63]!
}

/**
 * The first 128 bits of HMAC-SHA-256(key, value), base64url (22 characters); undefined when `value`
 * is longer than SHORT_REF_MAX or not ASCII (the caller hashes those the general way).
 */
export function shortRef(keys: HmacMidstates, value: string): string | undefined {
  const n = value.length
  if (n > SHORT_REF_MAX) return undefined
  for (let i = 0; i < 16; i++) W[i] = 0
  for (let i = 0; i < n; i++) {
    const code = value.charCodeAt(i)
    if (code > 0x7f) return undefined
    W[i >> 2]! |= code << (24 - 8 * (i & 3))
  }
  W[n >> 2]! |= 0x80 << (24 - 8 * (n & 3))
  // Bit length of the inner message: the key block (64 bytes), then the value.
  W[15] = (64 + n) * 8
  compress(keys.inner, state)
  // Outer message: the key block, then the 32-byte inner digest.
  for (let i = 0; i < 8; i++) W[i] = state[i]!
  W[8] = 0x80000000
  for (let i = 9; i < 15; i++) W[i] = 0
  W[15] = (64 + 32) * 8
  compress(keys.outer, state)
  // 128 bits as 24-bit groups: 5 full groups of 4 characters, then 8 bits as 2 characters. One
  // String.fromCharCode makes a flat string; 22 concatenations made a tree of 22 strings that
  // JSON and the sink then had to flatten (~1,750 instructions more per sessionRef).
  const w0 = state[0]!, w1 = state[1]!, w2 = state[2]!, w3 = state[3]!
  const g0 = w0 >>> 8, g1 = ((w0 & 0xff) << 16) | (w1 >>> 16), g2 = ((w1 & 0xffff) << 8) | (w2 >>> 24), g3 = w2 & 0xffffff, g4 = w3 >>> 8
  const last = w3 & 0xff
  return String.fromCharCode(
    b0(g0), b1(g0), b2(g0), b3(g0), b0(g1), b1(g1), b2(g1), b3(g1), b0(g2), b1(g2), b2(g2), b3(g2),
    b0(g3), b1(g3), b2(g3), b3(g3), b0(g4), b1(g4), b2(g4), b3(g4), ALPHABET[last >>> 2]!, ALPHABET[(last & 3) << 4]!,
  )
}
