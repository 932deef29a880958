// Cookies are iron (Fe26.2) seals made by iron's own libraries: @hapi/iron on Node, iron-webcrypto on
// edge runtimes ("#crypto"). A seal made by either branch's Sealer opens with the other's; any change
// to a seal, including a second spelling of the same bytes, is rejected.
import * as HapiIron from '@hapi/iron'
import { createHmac } from 'node:crypto'
import * as WebIron from 'iron-webcrypto'
import { describe, expect, it, vi } from 'vitest'
import { resolveSecrets } from '../src/options.js'
import type * as SealModule from '../src/seal.js'

const secret = 'seal-test-secret-0123456789-abcdefghij'
const secrets = resolveSecrets(secret)
const sid = 'AbCdEfGhIjKlMnOpQrStUvWx'
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** seal.ts bound to one branch of "#crypto" (a fresh module graph per branch). */
async function branch(name: 'node' | 'web'): Promise<{ Sealer: typeof SealModule.Sealer; runtime: string }> {
  vi.resetModules()
  vi.doMock('#crypto', () => import(`../src/crypto/${name}.ts`))
  const { Sealer } = await import('../src/seal.js')
  const { runtime } = await import('#crypto')
  vi.doUnmock('#crypto')
  return { Sealer, runtime }
}
const branches = { node: await branch('node'), web: await branch('web') }

/** The keys sesame derives from a secret, computed here independently with node:crypto. */
function keysOf(text: string) {
  const derive = (purpose: string) => createHmac('sha256', text).update(`sesame/${purpose}/v1`).digest()
  return { id: 'k' + derive('key-id').subarray(0, 6).toString('hex'), encryption: derive('seal/encryption'), integrity: derive('seal/integrity') }
}

function flip(seal: string, part: number): string {
  const parts = seal.split('*')
  const text = parts[part]!
  const at = Math.floor(text.length / 2)
  parts[part] = text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1)
  return parts.join('*')
}

/** The other spellings of a base64url part's last character that decode to the same bytes. */
function aliases(part: string): string[] {
  const unused = part.length % 4 === 2 ? 4 : 2
  const last = ALPHABET.indexOf(part[part.length - 1]!)
  const spellings: string[] = []
  for (let low = 1; low < 1 << unused; low++) spellings.push(part.slice(0, -1) + ALPHABET[last | low])
  for (const spelling of spellings) expect(Buffer.from(spelling, 'base64url')).toEqual(Buffer.from(part, 'base64url'))
  return spellings
}

describe('sealing on both branches of #crypto', () => {
  it('each branch is what it says: @hapi/iron on Node, iron-webcrypto on the web branch', () => {
    expect(branches.node.runtime).toBe('node')
    expect(branches.web.runtime).toBe('web')
  })

  it('a seal made by @hapi/iron (Node Sealer) opens with iron-webcrypto (web Sealer), and the other way round', async () => {
    const node = new branches.node.Sealer(secrets)
    const web = new branches.web.Sealer(secrets)
    const fromNode = await node.seal({ sid, createdAt: 1234 })
    const fromWeb = await web.seal({ sid, createdAt: 5678 })
    expect(fromNode).not.toContain(sid)
    expect(await web.unseal(fromNode)).toEqual({ sid, createdAt: 1234, stale: false })
    expect(await node.unseal(fromWeb)).toEqual({ sid, createdAt: 5678, stale: false })
    // Both are plain iron seals under the derived keys: the libraries themselves open them.
    const keys = keysOf(secret)
    expect(fromNode.startsWith(`Fe26.2*${keys.id}**`)).toBe(true)
    expect(await WebIron.unseal(fromNode, { [keys.id]: keys }, WebIron.defaults)).toEqual({ sid, createdAt: 1234 })
    expect(await HapiIron.unseal(fromWeb, { [keys.id]: keys }, HapiIron.defaults)).toEqual({ sid, createdAt: 5678 })
    expect(await node.sealingId()).toBe(keys.id)
  })

  it.each(['node', 'web'] as const)('%s: each seal has its own IV; a returning value is known without crypto (peek)', async (name) => {
    const sealer = new branches[name].Sealer(secrets)
    const a = await sealer.seal({ sid, createdAt: 1 })
    const b = await sealer.seal({ sid, createdAt: 1 })
    expect(a).not.toBe(b)
    expect(a.split('*')[3]).not.toBe(b.split('*')[3])
    // A fresh seal is not cached (most new sessions never come back); its first return verifies it.
    expect(sealer.peek(a)).toBeUndefined()
    expect(await sealer.unseal(a)).toEqual({ sid, createdAt: 1, stale: false })
    expect(sealer.peek(a)).toEqual({ sid, createdAt: 1, stale: false })
    const other = new branches[name].Sealer(secrets)
    expect(other.peek(a)).toBeUndefined()
    expect(await other.unseal(a)).toEqual({ sid, createdAt: 1, stale: false })
    expect(other.peek(a)).toEqual({ sid, createdAt: 1, stale: false })
  })

  it.each(['node', 'web'] as const)('%s: rotation: a seal under an older listed secret opens, marked stale, and is re-sealed with the newest', async (name) => {
    const { Sealer } = branches[name]
    const sealed = await new Sealer(resolveSecrets(secret)).seal({ sid, createdAt: 7 })
    const rotated = new Sealer(resolveSecrets(['the-new-secret-for-rotation-0123456789', secret]))
    expect(await rotated.unseal(sealed)).toEqual({ sid, createdAt: 7, stale: true })
    const resealed = await rotated.seal({ sid, createdAt: 7 })
    expect(resealed.split('*')[1]).toBe(keysOf('the-new-secret-for-rotation-0123456789').id)
    expect(await rotated.unseal(resealed)).toEqual({ sid, createdAt: 7, stale: false })
    // The { id: secret } form: the highest id seals, the ids are the ones given.
    const byId = new Sealer(resolveSecrets({ 1: secret, 2: 'the-new-secret-for-rotation-0123456789' }))
    const withId = await byId.seal({ sid, createdAt: 8 })
    expect(withId.split('*')[1]).toBe('2')
    const older = await new Sealer(resolveSecrets({ 1: secret })).seal({ sid, createdAt: 9 })
    expect(await byId.unseal(older)).toEqual({ sid, createdAt: 9, stale: true })
  })

  it.each(['node', 'web'] as const)('%s: a changed, truncated or foreign seal is rejected by reason', async (name) => {
    const { Sealer } = branches[name]
    const sealer = new Sealer(secrets)
    const sealed = await new Sealer(secrets).seal({ sid, createdAt: 5 })
    for (const part of [2, 3, 4, 5, 6, 7]) {
      expect(await new Sealer(secrets).unseal(flip(sealed, part)), `part ${part}`).toBe('tampered')
    }
    expect(await sealer.unseal(sealed.slice(0, -1))).toBe('tampered')
    expect(await sealer.unseal(sealed.slice(0, sealed.lastIndexOf('*')))).toBe('malformed')
    expect(await sealer.unseal(sealed.replace(/\*\*/, '*1700000000000*'))).toBe('tampered')
    const foreign = await new Sealer(resolveSecrets('another-secret-entirely-0123456789-xyz')).seal({ sid, createdAt: 1 })
    expect(await sealer.unseal(foreign)).toBe('unknown_key')
    // The foreign seal relabelled with our key id: its MAC does not verify under our keys.
    expect(await sealer.unseal(foreign.replace(/^Fe26\.2\*\w+\*/, `Fe26.2*${keysOf(secret).id}*`))).toBe('tampered')
    expect(await sealer.unseal('Fe26.2*__proto__*a*b*c**d*e')).toBe('unknown_key')
    expect(await sealer.unseal('Fe26.2*constructor*a*b*c**d*e')).toBe('unknown_key')
    expect(await sealer.unseal('garbage')).toBe('malformed')
    expect(await sealer.unseal('Fe26.1*x*a*b*c**d*e')).toBe('malformed')
    expect(await sealer.unseal('x'.repeat(5000))).toBe('malformed')
  })

  it.each(['node', 'web'] as const)('%s: a valid seal of something that is not a session, or of a plain-password iron seal, is tampered', async (name) => {
    const sealer = new branches[name].Sealer(secrets)
    const keys = keysOf(secret)
    expect(await sealer.unseal(await WebIron.seal({ foo: 1 }, keys, WebIron.defaults))).toBe('tampered')
    expect(await sealer.unseal(await HapiIron.seal({ sid: '../../etc', createdAt: 1 }, keys, HapiIron.defaults))).toBe('tampered')
    // iron with the secret as a password string (salted PBKDF2 keys) is not how sesame seals.
    expect(await sealer.unseal(await WebIron.seal({ sid, createdAt: 1 }, { id: keys.id, secret }, WebIron.defaults))).toBe('tampered')
  })

  it.each(['node', 'web'] as const)('%s: every other spelling of a seal (same decoded bytes) is rejected (issue 24 item 3)', async (name) => {
    const sealer = new branches[name].Sealer(secrets)
    const sealed = await sealer.seal({ sid, createdAt: 11 })
    const parts = sealed.split('*')
    let tried = 0
    // The MAC (43 characters: 3 aliases), the IV (22 characters: 15) and the ciphertext.
    for (const index of [7, 3, 4]) {
      if (parts[index]!.length % 4 === 0) continue
      for (const spelling of aliases(parts[index]!)) {
        const alias = parts.with(index, spelling).join('*')
        expect(await new branches[name].Sealer(secrets).unseal(alias), `part ${index} as ${spelling.slice(-3)}`).toBe('tampered')
        tried++
      }
    }
    expect(tried).toBeGreaterThanOrEqual(18)
    // Text in the salt fields: iron ignores it when given key bytes, so it would be another spelling.
    expect(await new branches[name].Sealer(secrets).unseal(parts.with(6, 'ab').join('*'))).toBe('tampered')
    expect(await new branches[name].Sealer(secrets).unseal(parts.with(2, 'ab').join('*'))).toBe('tampered')
    expect(await sealer.unseal(sealed)).toEqual({ sid, createdAt: 11, stale: false })
  })
})
