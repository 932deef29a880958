// sessionRef is keyed BLAKE2s-128 (RFC 7693, base64url) whatever path computes it, and event times
// are exactly Date#toISOString.
import { randomBytes } from 'node:crypto'
import { blake2s } from '@noble/hashes/blake2.js'
import { describe, expect, it } from 'vitest'
import { deriveRefKey, sessionRef } from '../src/index.js'
import { isoTime } from '../src/audit.js'
import { keyedState, oneBlock } from '../src/ref-hash.js'

// @noble/hashes's BLAKE2s: an independent implementation (the general path of sessionRef uses it too,
// so the known answers below pin both).
const expected = (key: Uint8Array, value: string) => Buffer.from(blake2s(Buffer.from(value, 'utf8'), { key, dkLen: 16 })).toString('base64url')
const hex = (words: Int32Array) => Buffer.from(new Uint8Array(Int32Array.from(words).buffer)).toString('hex')

describe('sessionRef', () => {
  const key = deriveRefKey('a secret of thirty-two characters!')

  it("gives the BLAKE2 reference's known answers for keyed BLAKE2s-256 (blake2s-kat.txt: key 00..1f, input 00..)", () => {
    const katKey = Uint8Array.from({ length: 32 }, (_, i) => i)
    const input = (length: number) => String.fromCharCode(...Array.from({ length }, (_, i) => i))
    expect(hex(oneBlock(keyedState(katKey, 32), input(1))!)).toBe('40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1')
    expect(hex(oneBlock(keyedState(katKey, 32), input(3))!)).toBe(Buffer.from(blake2s(Uint8Array.from([0, 1, 2]), { key: katKey, dkLen: 32 })).toString('hex'))
  })

  it('is keyed BLAKE2s-128 for every length around the one-block limit, ASCII or not', () => {
    for (let length = 0; length <= 130; length++) {
      const ascii = randomBytes(length).toString('base64url').slice(0, length).padEnd(length, 'x')
      expect(sessionRef(key, ascii), `ascii, ${length} characters`).toBe(expected(key, ascii))
      const wide = ascii.slice(0, Math.max(0, length - 1)) + 'é'
      expect(sessionRef(key, wide), `non-ascii, ${length} characters`).toBe(expected(key, wide))
    }
    for (const value of ['', '\u0000', '\u007f', '\u0080', '😀', 'a'.repeat(64), 'b'.repeat(65), 'c'.repeat(1000)]) {
      expect(sessionRef(key, value)).toBe(expected(key, value))
    }
  })

  it('is keyed BLAKE2s-128 for many session ids and keys of every allowed length', () => {
    for (let length = 1; length <= 32; length++) {
      const other = length === 32 ? key : new Uint8Array(randomBytes(length))
      for (let i = 0; i < 50; i++) {
        const id = randomBytes(18).toString('base64url')
        expect(sessionRef(other, id)).toBe(expected(other, id))
      }
    }
  })

  it('refuses a key it cannot use with a RangeError that says what to pass', () => {
    expect(() => sessionRef(new Uint8Array(33), 'abc')).toThrow(RangeError)
    expect(() => sessionRef(new Uint8Array(0), 'abc')).toThrow(/1 to 32 bytes.*deriveRefKey/)
  })

  it('differs between keys and between ids', () => {
    const other = deriveRefKey('another secret of thirty-two chars')
    const id = randomBytes(18).toString('base64url')
    expect(sessionRef(key, id)).not.toBe(sessionRef(other, id))
    expect(sessionRef(key, id)).not.toBe(sessionRef(key, id.slice(1) + 'A'))
    expect(sessionRef(key, id)).toMatch(/^[A-Za-z0-9_-]{22}$/)
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
