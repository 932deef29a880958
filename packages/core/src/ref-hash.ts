// Keyed BLAKE2s with a 128-bit output (RFC 7693) of a short ASCII string: the sessionRef of a session id.
//
// Why BLAKE2s: it has a keyed mode of its own (the key is absorbed as a first block), so with that
// block absorbed once per key, a value of at most 64 bytes costs ONE compression. HMAC-SHA-256, used
// before, needs two (inner and outer hash), each heavier: ~9,900 instructions per sessionRef against
// ~2,500 here. A sessionRef is computed for every audit event on the request path (two per request
// in a flood of new sessions at capacity: created and evicted), where it was the largest single cost.
// A keyed BLAKE2s is a PRF (a MAC) under its key, which is all a sessionRef needs: stable for one
// session, and useless without the key.
//
// Hand-written on purpose: @noble/hashes's blake2s allocates a hash object, buffers and views per
// call. Anything longer than one block or non-ASCII (a rejected cookie can be anything) goes to noble;
// the tests check that both paths give the same bytes, and this compression against RFC 7693's and
// the BLAKE2 reference's known answers.

/** BLAKE2s's IV (the same words as SHA-256's). */
const IV = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19])

/** The message schedule: the order in which each of the ten rounds reads the block's 16 words. */
const SIGMA = Uint8Array.from([
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
  11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4,
  7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8,
  9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13,
  2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9,
  12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11,
  13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10,
  6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5,
  10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0,
])

/** The block being compressed, as 16 little-endian words. */
const M = new Int32Array(16)
const out = new Int32Array(8)

/**
 * BLAKE2s's compression F of the block in M, from chaining value `from` into `to`; `bytes` is the
 * count of message bytes so far including this block (below 2^32 here), `last` marks the final block.
 * The state lives in 16 locals; the ten rounds are a loop over one round's code (the eight G
 * functions written out), which keeps the machine code small: with audit events on, this runs in a
 * busy server whose instruction cache holds little of it between two calls.
 */
function compress(from: Int32Array, to: Int32Array, bytes: number, last: boolean): void {
  let v0 = from[0]!, v1 = from[1]!, v2 = from[2]!, v3 = from[3]!, v4 = from[4]!, v5 = from[5]!, v6 = from[6]!, v7 = from[7]!
  let v8 = IV[0]!, v9 = IV[1]!, v10 = IV[2]!, v11 = IV[3]!
  let v12 = IV[4]! ^ bytes, v13 = IV[5]!, v14 = last ? ~IV[6]! : IV[6]!, v15 = IV[7]!
  for (let s = 0; s < 160; s += 16) {
    // G(a, b, c, d, x, y): a += b + x; d = (d ^ a) >>> 16; c += d; b = (b ^ c) >>> 12;
    //                      a += b + y; d = (d ^ a) >>> 8;  c += d; b = (b ^ c) >>> 7   (rotations)
    // Columns: (0, 4, 8, 12) (1, 5, 9, 13) (2, 6, 10, 14) (3, 7, 11, 15).
    v0 = (v0 + v4 + M[SIGMA[s]!]!) | 0; v12 ^= v0; v12 = (v12 >>> 16) | (v12 << 16)
    v8 = (v8 + v12) | 0; v4 ^= v8; v4 = (v4 >>> 12) | (v4 << 20)
    v0 = (v0 + v4 + M[SIGMA[s + 1]!]!) | 0; v12 ^= v0; v12 = (v12 >>> 8) | (v12 << 24)
    v8 = (v8 + v12) | 0; v4 ^= v8; v4 = (v4 >>> 7) | (v4 << 25)
    v1 = (v1 + v5 + M[SIGMA[s + 2]!]!) | 0; v13 ^= v1; v13 = (v13 >>> 16) | (v13 << 16)
    v9 = (v9 + v13) | 0; v5 ^= v9; v5 = (v5 >>> 12) | (v5 << 20)
    v1 = (v1 + v5 + M[SIGMA[s + 3]!]!) | 0; v13 ^= v1; v13 = (v13 >>> 8) | (v13 << 24)
    v9 = (v9 + v13) | 0; v5 ^= v9; v5 = (v5 >>> 7) | (v5 << 25)
    v2 = (v2 + v6 + M[SIGMA[s + 4]!]!) | 0; v14 ^= v2; v14 = (v14 >>> 16) | (v14 << 16)
    v10 = (v10 + v14) | 0; v6 ^= v10; v6 = (v6 >>> 12) | (v6 << 20)
    v2 = (v2 + v6 + M[SIGMA[s + 5]!]!) | 0; v14 ^= v2; v14 = (v14 >>> 8) | (v14 << 24)
    v10 = (v10 + v14) | 0; v6 ^= v10; v6 = (v6 >>> 7) | (v6 << 25)
    v3 = (v3 + v7 + M[SIGMA[s + 6]!]!) | 0; v15 ^= v3; v15 = (v15 >>> 16) | (v15 << 16)
    v11 = (v11 + v15) | 0; v7 ^= v11; v7 = (v7 >>> 12) | (v7 << 20)
    v3 = (v3 + v7 + M[SIGMA[s + 7]!]!) | 0; v15 ^= v3; v15 = (v15 >>> 8) | (v15 << 24)
    v11 = (v11 + v15) | 0; v7 ^= v11; v7 = (v7 >>> 7) | (v7 << 25)
    // Diagonals: (0, 5, 10, 15) (1, 6, 11, 12) (2, 7, 8, 13) (3, 4, 9, 14).
    v0 = (v0 + v5 + M[SIGMA[s + 8]!]!) | 0; v15 ^= v0; v15 = (v15 >>> 16) | (v15 << 16)
    v10 = (v10 + v15) | 0; v5 ^= v10; v5 = (v5 >>> 12) | (v5 << 20)
    v0 = (v0 + v5 + M[SIGMA[s + 9]!]!) | 0; v15 ^= v0; v15 = (v15 >>> 8) | (v15 << 24)
    v10 = (v10 + v15) | 0; v5 ^= v10; v5 = (v5 >>> 7) | (v5 << 25)
    v1 = (v1 + v6 + M[SIGMA[s + 10]!]!) | 0; v12 ^= v1; v12 = (v12 >>> 16) | (v12 << 16)
    v11 = (v11 + v12) | 0; v6 ^= v11; v6 = (v6 >>> 12) | (v6 << 20)
    v1 = (v1 + v6 + M[SIGMA[s + 11]!]!) | 0; v12 ^= v1; v12 = (v12 >>> 8) | (v12 << 24)
    v11 = (v11 + v12) | 0; v6 ^= v11; v6 = (v6 >>> 7) | (v6 << 25)
    v2 = (v2 + v7 + M[SIGMA[s + 12]!]!) | 0; v13 ^= v2; v13 = (v13 >>> 16) | (v13 << 16)
    v8 = (v8 + v13) | 0; v7 ^= v8; v7 = (v7 >>> 12) | (v7 << 20)
    v2 = (v2 + v7 + M[SIGMA[s + 13]!]!) | 0; v13 ^= v2; v13 = (v13 >>> 8) | (v13 << 24)
    v8 = (v8 + v13) | 0; v7 ^= v8; v7 = (v7 >>> 7) | (v7 << 25)
    v3 = (v3 + v4 + M[SIGMA[s + 14]!]!) | 0; v14 ^= v3; v14 = (v14 >>> 16) | (v14 << 16)
    v9 = (v9 + v14) | 0; v4 ^= v9; v4 = (v4 >>> 12) | (v4 << 20)
    v3 = (v3 + v4 + M[SIGMA[s + 15]!]!) | 0; v14 ^= v3; v14 = (v14 >>> 8) | (v14 << 24)
    v9 = (v9 + v14) | 0; v4 ^= v9; v4 = (v4 >>> 7) | (v4 << 25)
  }
  to[0] = from[0]! ^ v0 ^ v8
  to[1] = from[1]! ^ v1 ^ v9
  to[2] = from[2]! ^ v2 ^ v10
  to[3] = from[3]! ^ v3 ^ v11
  to[4] = from[4]! ^ v4 ^ v12
  to[5] = from[5]! ^ v5 ^ v13
  to[6] = from[6]! ^ v6 ^ v14
  to[7] = from[7]! ^ v7 ^ v15
}

/** Longest key of keyed BLAKE2s, in bytes. */
export const REF_KEY_MAX = 32

/**
 * The chaining value of keyed BLAKE2s after the key's block (the key, zero-padded to 64 bytes),
 * for an output of `outLength` bytes. Valid for messages of at least one byte: with an empty message
 * the key block is the last block, compressed differently.
 */
export function keyedState(key: Uint8Array, outLength = 16): Int32Array {
  if (key.length < 1 || key.length > REF_KEY_MAX) throw new RangeError(`a BLAKE2s key has 1 to ${REF_KEY_MAX} bytes (got ${key.length})`)
  const h = Int32Array.from(IV)
  // The parameter block: digest length, key length, fanout 1, depth 1.
  h[0]! ^= 0x01010000 ^ (key.length << 8) ^ outLength
  M.fill(0)
  for (let i = 0; i < key.length; i++) M[i >> 2]! |= key[i]! << (8 * (i & 3))
  compress(h, h, 64, false)
  return h
}

/** Longest value taken by oneBlock: the key block, then the value alone in the final block. */
export const SHORT_REF_MAX = 64

/**
 * Keyed BLAKE2s of an ASCII `value` of 1 to SHORT_REF_MAX characters, from `keyed` (keyedState):
 * the 8 output words (little-endian), or undefined when `value` is empty, too long or not ASCII.
 */
export function oneBlock(keyed: Int32Array, value: string): Int32Array | undefined {
  const n = value.length
  if (n === 0 || n > SHORT_REF_MAX) return undefined
  M.fill(0)
  for (let i = 0; i < n; i++) {
    const code = value.charCodeAt(i)
    if (code > 0x7f) return undefined
    M[i >> 2]! |= code << (8 * (i & 3))
  }
  compress(keyed, out, 64 + n, true)
  return out
}

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

/** A little-endian word's bytes as a big-endian word (the order base64url reads them in). */
function swap(word: number): number {
  return ((word & 0xff) << 24) | ((word & 0xff00) << 8) | ((word >>> 8) & 0xff00) | (word >>> 24)
}

/**
 * The sessionRef of `value` under the 128-bit-output key state `keyed`: keyed BLAKE2s-128, base64url
 * (22 characters); undefined when oneBlock does not take `value` (the caller hashes it with noble).
 */
export function shortRef(keyed: Int32Array, value: string): string | undefined {
  const h = oneBlock(keyed, value)
  if (h === undefined) return undefined
  // 128 bits as 24-bit groups: 5 full groups of 4 characters, then 8 bits as 2 characters. One
  // String.fromCharCode makes a flat string; 22 concatenations made a tree of 22 strings that
  // JSON and the sink then had to flatten (~1,750 instructions more per sessionRef).
  const w0 = swap(h[0]!), w1 = swap(h[1]!), w2 = swap(h[2]!), w3 = swap(h[3]!)
  const g0 = w0 >>> 8, g1 = ((w0 & 0xff) << 16) | (w1 >>> 16), g2 = ((w1 & 0xffff) << 8) | (w2 >>> 24), g3 = w2 & 0xffffff, g4 = w3 >>> 8
  const last = w3 & 0xff
  return String.fromCharCode(
    b0(g0), b1(g0), b2(g0), b3(g0), b0(g1), b1(g1), b2(g1), b3(g1), b0(g2), b1(g2), b2(g2), b3(g2),
    b0(g3), b1(g3), b2(g3), b3(g3), b0(g4), b1(g4), b2(g4), b3(g4), ALPHABET[last >>> 2]!, ALPHABET[(last & 3) << 4]!,
  )
}
