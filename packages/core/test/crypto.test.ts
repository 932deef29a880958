import { createHash, createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import * as node from '../src/crypto/node.js'
import * as web from '../src/crypto/web.js'
import { isCanonicalBase64Url, toBase64Url } from '../src/base64url.js'

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
  it('hmacSha256 gives the 32 raw bytes', async () => {
    const key = new Uint8Array(32).fill(9)
    const expected = createHmac('sha256', key).update('sesame/key-id/v1').digest()
    expect(Buffer.from(await node.hmacSha256(key, 'sesame/key-id/v1'))).toEqual(expected)
    expect(Buffer.from(await web.hmacSha256(key, 'sesame/key-id/v1'))).toEqual(expected)
  })
  it('sealIron (@hapi/iron on Node, iron-webcrypto on the web) opens with the other branch', async () => {
    const password = { id: 'k1', encryption: new Uint8Array(32).fill(1), integrity: new Uint8Array(32).fill(2) }
    const value = { sid: 'x', createdAt: 1 }
    expect(await web.unsealIron(await node.sealIron(value, password), password)).toEqual(value)
    expect(await node.unsealIron(await web.sealIron(value, password), password)).toEqual(value)
    await expect(node.unsealIron(await web.sealIron(value, password), { ...password, integrity: new Uint8Array(32).fill(3) })).rejects.toThrow()
    await expect(web.unsealIron(await node.sealIron(value, password), { ...password, integrity: new Uint8Array(32).fill(3) })).rejects.toThrow()
  })
  it('randomBytes gives fresh bytes of the length asked', () => {
    for (const impl of [node, web]) {
      const a = impl.randomBytes(32)
      const b = impl.randomBytes(32)
      expect(a.length).toBe(32)
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false)
    }
  })
})

describe('base64url', () => {
  it('writes what Buffer writes, and calls canonical exactly the spellings Buffer writes back', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    for (let length = 0; length <= 40; length++) {
      const bytes = new Uint8Array(length).map((_, i) => (i * 151 + length * 7) & 255)
      const text = toBase64Url(bytes)
      expect(text).toBe(Buffer.from(bytes).toString('base64url'))
      expect(isCanonicalBase64Url(text)).toBe(true)
      if (text.length === 0) continue
      for (const last of alphabet) {
        const variant = text.slice(0, -1) + last
        const roundTrip = Buffer.from(variant, 'base64url').toString('base64url')
        expect(isCanonicalBase64Url(variant), variant).toBe(roundTrip === variant)
      }
    }
    for (const bad of ['A', 'AAAAA', 'AB=', 'A+B/', 'ab cd']) expect(isCanonicalBase64Url(bad), bad).toBe(false)
  })
})
