// The writing side of the chain (src/chain.ts): every line is node:crypto's AES-256-GCM with the
// writer's key, the sequence number as nonce and the previous line's tag as associated data, and the
// sink's size arithmetic (lineBytes) is exact, since rotation relies on it.
import { createCipheriv, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ChainWriter, lineBytes } from '../src/chain.js'
import { decrypt, parseLine, writeNonce, writerKey } from '../src/format.js'
import { deriveKey } from '../src/keys.js'

// Lengths around every block boundary and base64 remainder, long lines, and multi-byte UTF-8
// (including a lone surrogate, which is encoded as U+FFFD).
const SAMPLES = [
  '', 'a', '{"x":1}', 'x'.repeat(15), 'x'.repeat(16), 'x'.repeat(17), 'y'.repeat(31), 'y'.repeat(32), 'y'.repeat(33),
  JSON.stringify({ type: 'session.created', at: '2026-12-01T02:00:00.000Z', sessionRef: 'abcdefghijklmnopqrstuv', ip: '127.0.0.1', userAgent: 'Mozilla/5.0' }),
  'é'.repeat(40), '日本語のユーザーエージェント', '🔑'.repeat(9), 'a\uD800b', 'z'.repeat(5000),
]

describe('ChainWriter', () => {
  it('writes what createCipheriv("aes-256-gcm") makes of each line, chained by the previous tag', () => {
    const auditKey = deriveKey(randomBytes(32))
    const chain = new ChainWriter(auditKey)
    const key = writerKey(auditKey, chain.writer)
    const text = chain.lines(SAMPLES.slice(0, 8)) + SAMPLES.slice(8).map((sample) => chain.line(sample)).join('')
    const raws = text.split('\n').slice(0, -1).map((line) => parseLine(line)!)
    expect(raws.map((raw) => raw.s)).toEqual(SAMPLES.map((_, i) => i))
    let previous: Buffer | undefined
    raws.forEach((raw, i) => {
      const cipher = createCipheriv('aes-256-gcm', key, writeNonce(i))
      if (previous) cipher.setAAD(previous)
      expect(raw.c).toBe(Buffer.concat([cipher.update(SAMPLES[i]!, 'utf8'), cipher.final()]).toString('base64url'))
      expect(raw.t).toBe(cipher.getAuthTag().toString('base64url'))
      expect(decrypt(key, raw, previous)).toBe(Buffer.from(SAMPLES[i]!, 'utf8').toString('utf8'))
      // Only after its own predecessor.
      if (i > 1) expect(decrypt(key, raw, Buffer.from(raws[0]!.t, 'base64url'))).toBeUndefined()
      previous = Buffer.from(raw.t, 'base64url')
    })
  })

  it('knows the exact size of a line before encrypting it, for every length and sequence number', () => {
    const chain = new ChainWriter(deriveKey(randomBytes(32)))
    for (let i = 0; i < 1200; i++) {
      const sample = i < SAMPLES.length ? SAMPLES[i]! : 'é'.repeat(i % 97) + 'q'.repeat(i % 13)
      const expected = chain.nextLineBytes(Buffer.byteLength(sample))
      expect(expected).toBe(lineBytes(Buffer.byteLength(sample), chain.seq))
      expect(Buffer.byteLength(chain.line(sample))).toBe(expected)
    }
  })
})
