// sessionRef is HMAC-SHA-256 (first 128 bits, base64url) whatever path computes it, and event times
// are exactly Date#toISOString.
import { createHmac, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { deriveRefKey, sessionRef } from '../src/index.js'
import { isoTime } from '../src/audit.js'

const expected = (key: Uint8Array, value: string) => createHmac('sha256', key).update(value, 'utf8').digest().subarray(0, 16).toString('base64url')

describe('sessionRef', () => {
  const key = deriveRefKey('a secret of thirty-two characters!')

  it('is HMAC-SHA-256 for every length around the one-block limit, ASCII or not', () => {
    for (let length = 0; length <= 130; length++) {
      const ascii = randomBytes(length).toString('base64url').slice(0, length).padEnd(length, 'x')
      expect(sessionRef(key, ascii), `ascii, ${length} characters`).toBe(expected(key, ascii))
      const wide = ascii.slice(0, Math.max(0, length - 1)) + 'é'
      expect(sessionRef(key, wide), `non-ascii, ${length} characters`).toBe(expected(key, wide))
    }
    for (const value of ['\u0000', '\u007f', '\u0080', '😀', 'a'.repeat(55), 'b'.repeat(56), 'c'.repeat(1000)]) {
      expect(sessionRef(key, value)).toBe(expected(key, value))
    }
  })

  it('is HMAC-SHA-256 for many session ids and several keys', () => {
    for (let k = 0; k < 5; k++) {
      const other = k === 0 ? key : new Uint8Array(randomBytes(k === 4 ? 64 : 32))
      for (let i = 0; i < 200; i++) {
        const id = randomBytes(18).toString('base64url')
        expect(sessionRef(other, id)).toBe(expected(other, id))
      }
    }
  })

  it('accepts a key longer than a block', () => {
    const long = new Uint8Array(randomBytes(100))
    expect(sessionRef(long, 'abc')).toBe(expected(long, 'abc'))
  })
})

describe('event time', () => {
  it('is Date#toISOString for any millisecond, also across seconds and backwards', () => {
    const base = Date.UTC(2026, 10, 23, 14, 41, 19)
    for (const offset of [0, 1, 9, 10, 99, 100, 999, 1000, 1001, -1, -1000, 59_999, 86_400_000, 3_600_000 * 24 * 400]) {
      const now = base + offset
      expect(isoTime(now)).toBe(new Date(now).toISOString())
    }
    for (const now of [0, -1, -62_198_755_200_000, 253_402_300_799_999, 253_402_300_800_000, 8.64e15]) {
      expect(isoTime(now)).toBe(new Date(now).toISOString())
    }
    for (let i = 0; i < 1000; i++) {
      const now = Math.floor(Math.random() * 4e12)
      expect(isoTime(now)).toBe(new Date(now).toISOString())
    }
  })
})
