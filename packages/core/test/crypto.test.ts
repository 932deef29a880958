import { createHash, createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import * as node from '../src/crypto/node.js'
import * as web from '../src/crypto/web.js'

// Both branches of "#crypto" must give the same answers: a seal, a store key or a sessionRef made on
// Node has to match one made on an edge runtime sharing the same store and secret.
describe('#crypto: node:crypto and Web Crypto agree', () => {
  const texts = ['', 'a', 'sid-AbC_123-xyz', 'ünïcödé ✓ '.repeat(40)]
  it.each(texts)('sha256Base64Url(%j)', async (text) => {
    const expected = createHash('sha256').update(text).digest('base64url')
    expect(await node.sha256Base64Url(text)).toBe(expected)
    expect(await web.sha256Base64Url(text)).toBe(expected)
  })
  it.each(texts)('hmacSha256Base64Url(key, %j)', async (text) => {
    const key = new Uint8Array(32).map((_, i) => i * 7)
    const expected = createHmac('sha256', key).update(text).digest('base64url')
    expect(await node.hmacSha256Base64Url(key, text)).toBe(expected)
    expect(await web.hmacSha256Base64Url(key, text)).toBe(expected)
  })
  it('equalBytes compares content and length', () => {
    for (const impl of [node, web]) {
      expect(impl.equalBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true)
      expect(impl.equalBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false)
      expect(impl.equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]))).toBe(false)
    }
  })
  it('randomBytes gives fresh bytes of the length asked', () => {
    for (const impl of [node, web]) {
      const a = impl.randomBytes(32)
      const b = impl.randomBytes(32)
      expect(a.length).toBe(32)
      expect(impl.equalBytes(a, b)).toBe(false)
    }
  })
})
