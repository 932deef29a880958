// Cookies are standard iron (Fe26.2) seals: iron-webcrypto opens ours, we open iron-webcrypto's,
// and any change to a seal is caught on both the fast (held keys) and the library path.
import { defaults, seal as ironSeal, unseal as ironUnseal } from 'iron-webcrypto'
import { describe, expect, it } from 'vitest'
import { resolveSecrets, Sealer } from '@sesame/core'

const secret = 'seal-test-secret-0123456789-abcdefghij'
const secrets = resolveSecrets(secret)
const sid = 'AbCdEfGhIjKlMnOpQrStUvWx'

function flip(seal: string, part: number): string {
  const parts = seal.split('*')
  const text = parts[part]!
  const at = Math.floor(text.length / 2)
  parts[part] = text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1)
  return parts.join('*')
}

describe('sealing', () => {
  it('iron-webcrypto unseals what sesame seals', async () => {
    const sealer = new Sealer(secrets)
    const sealed = await sealer.seal({ sid, createdAt: 1234 })
    expect(sealed.startsWith('Fe26.2*' + secrets.sealId + '*')).toBe(true)
    expect(sealed).not.toContain(sid)
    expect(await ironUnseal(sealed, { [secrets.sealId]: secret }, defaults)).toEqual({ sid, createdAt: 1234 })
  })

  it('sesame unseals what iron-webcrypto seals, and each seal has its own IV', async () => {
    const sealer = new Sealer(secrets)
    const sealed = await ironSeal({ sid, createdAt: 99 }, { id: secrets.sealId, secret }, defaults)
    expect(await new Sealer(secrets).unseal(sealed)).toEqual({ sid, createdAt: 99, stale: false })
    const a = await sealer.seal({ sid, createdAt: 1 })
    const b = await sealer.seal({ sid, createdAt: 1 })
    expect(a).not.toBe(b)
    expect(a.split('*')[3]).not.toBe(b.split('*')[3])
  })

  it('any changed part is rejected, on the held-key path and on the library path', async () => {
    const sealer = new Sealer(secrets)
    const ours = await sealer.seal({ sid, createdAt: 5 })
    const library = await ironSeal({ sid, createdAt: 5 }, { id: secrets.sealId, secret }, defaults)
    for (const sealed of [ours, library]) {
      for (const part of [2, 3, 4, 6, 7]) {
        // A fresh sealer for the library seal, so the check goes through iron-webcrypto.
        const checker = sealed === ours ? sealer : new Sealer(secrets)
        expect(await checker.unseal(flip(sealed, part)), `part ${part}`).toBe('tampered')
      }
      expect(await sealer.unseal(sealed.replace(/\*\*/, '*1700000000000*'))).not.toHaveProperty('sid')
    }
  })

  it('rejects by reason: unknown key id, malformed, valid seal of something else', async () => {
    const sealer = new Sealer(secrets)
    const other = resolveSecrets('another-secret-entirely-0123456789-xyz')
    expect(await sealer.unseal(await new Sealer(other).seal({ sid, createdAt: 1 }))).toBe('unknown_key')
    expect(await sealer.unseal('Fe26.2*__proto__*a*b*c**d*e')).toBe('unknown_key')
    expect(await sealer.unseal('Fe26.2*constructor*a*b*c**d*e')).toBe('unknown_key')
    expect(await sealer.unseal('garbage')).toBe('malformed')
    expect(await sealer.unseal('Fe26.1*x*a*b*c**d*e')).toBe('malformed')
    expect(await sealer.unseal('x'.repeat(5000))).toBe('malformed')
    const notASession = await ironSeal({ foo: 1 }, { id: secrets.sealId, secret }, defaults)
    expect(await sealer.unseal(notASession)).toBe('tampered')
    const chosenId = await ironSeal({ sid: '../../etc', createdAt: 1 }, { id: secrets.sealId, secret }, defaults)
    expect(await sealer.unseal(chosenId)).toBe('tampered')
  })

  it('rotation: a seal under an older listed secret opens and is marked for re-sealing', async () => {
    const oldSealer = new Sealer(resolveSecrets(secret))
    const sealed = await oldSealer.seal({ sid, createdAt: 7 })
    const rotated = new Sealer(resolveSecrets(['the-new-secret-for-rotation-0123456789', secret]))
    expect(await rotated.unseal(sealed)).toEqual({ sid, createdAt: 7, stale: true })
    const resealed = await rotated.seal({ sid, createdAt: 7 })
    expect(await rotated.unseal(resealed)).toEqual({ sid, createdAt: 7, stale: false })
  })
})
