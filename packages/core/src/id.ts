// Session ids: 144 bits from the platform CSPRNG, base64url (24 characters). Never taken from a client.

import { randomBytes } from './random.js'

const BYTES = 18
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

export function newSessionId(): string {
  const bytes = randomBytes(BYTES)
  let id = ''
  // 18 bytes = 6 groups of 3 bytes = 24 base64url characters, no padding.
  for (let i = 0; i < BYTES; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    id += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!
  }
  return id
}
