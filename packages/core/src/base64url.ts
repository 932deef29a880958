// base64url without padding (RFC 4648 section 5): session ids, and the canonical-form check of seals.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const PATTERN = /^[A-Za-z0-9_-]*$/

/** base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let text = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    text += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    text += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    text += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!
  }
  return text
}

/**
 * Whether `text` is unpadded base64url exactly as an encoder writes it. Decoders (atob, Buffer,
 * Uint8Array.fromBase64) ignore the unused low bits of a final partial group, so "...A", "...B", "...C"
 * and "...D" can all decode to the same bytes; only the spelling with those bits zero is canonical.
 * A length of 1 more than a multiple of 4 encodes no whole byte and is never valid.
 */
export function isCanonicalBase64Url(text: string): boolean {
  if (!PATTERN.test(text)) return false
  const rest = text.length % 4
  if (rest === 0) return true
  if (rest === 1) return false
  const last = ALPHABET.indexOf(text[text.length - 1]!)
  // 2 characters carry 12 bits for 1 byte (4 unused), 3 carry 18 bits for 2 bytes (2 unused).
  const unusedBits = rest === 2 ? 0b1111 : 0b11
  return (last & unusedBits) === 0
}
