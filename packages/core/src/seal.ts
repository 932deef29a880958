// The cookie carries `{ sid, createdAt }` sealed in iron's Fe26.2 format (AES-256-CBC, then
// HMAC-SHA-256 over the result), never the raw id. Sealing and unsealing are iron's own libraries,
// chosen by "#crypto": @hapi/iron on Node, iron-webcrypto on edge runtimes. A seal made by either
// opens with the other.
//
// Keys: iron's password form `{ id, encryption, integrity }` with key bytes derived once per secret
// (secret-keys.ts) instead of a password string. With a string, iron runs PBKDF2 twice per seal and
// per unseal with fresh random salts: 130 µs a seal with @hapi/iron here against 12 µs with the
// derived keys (measured; a whole request costs 150-300 µs). Every seal still has its own random IV.
// The seal's two salt fields are then empty, and must be: iron ignores them when given key bytes, so a
// seal with text in them would be a second spelling of the same cookie.
//
// Values that verified once are remembered in a small bounded cache: an unchanged cookie is verified
// by one lookup on later requests (peek). A value enters the cache only after its MAC verified, so a
// forged cookie is never in it. A value this process just sealed is not put in it: most new sessions
// (a crawler, a flood of cookie-less requests) never come back, and each entry is ~350 bytes that
// would live until 10,000 later ones push it out, pushing out the cookies of visitors who do come
// back. A returning cookie pays one unseal (~10 µs) on its first request back, then is cached.

import { LRUCache } from 'lru-cache'
import { sealIron, unsealIron, type IronPassword } from '#crypto'
import { isCanonicalBase64Url } from './base64url.js'
import type { ResolvedSecrets } from './options.js'
import { ironPassword } from './secret-keys.js'

export interface SealedSession {
  sid: string
  createdAt: number
}

export interface Verified extends SealedSession {
  /** Sealed with a secret other than the current sealing one: re-seal on this response. */
  stale: boolean
  /** The store key of `sid` (store-key.ts), kept by load on first use: a returning cookie costs no hash. */
  key: string | undefined
}

export type RejectReason = 'tampered' | 'malformed' | 'unknown_key'
export type UnsealResult = Verified | RejectReason

/** How many verified cookie values are remembered. ~350 bytes each. */
export const VERIFIED_CACHE_SIZE = 10_000

const SID_PATTERN = /^[A-Za-z0-9_-]{22,64}$/
const SEALED_PATTERN = /^[A-Za-z0-9_\-*.~]+$/
const MAX_SEALED = 4096
const PREFIX = 'Fe26.2'

interface Keyring {
  sealing: IronPassword
  /** Every secret that may unseal, by its password id. */
  byId: Map<string, IronPassword>
}

async function keyringOf(secrets: ResolvedSecrets): Promise<Keyring> {
  const passwords = await Promise.all(secrets.all.map(({ id, secret }) => ironPassword(secret, id)))
  return { sealing: passwords[0]!, byId: new Map(passwords.map((password) => [password.id, password])) }
}

export class Sealer {
  readonly #keyring: Promise<Keyring>
  readonly #verified = new LRUCache<string, Verified>({ max: VERIFIED_CACHE_SIZE })

  constructor(secrets: ResolvedSecrets) {
    this.#keyring = keyringOf(secrets)
    // A failure here would be a broken platform (no HMAC): it surfaces at the first seal or unseal.
    this.#keyring.catch(() => {})
  }

  /** The iron password id that new seals carry (for tests and diagnostics). */
  async sealingId(): Promise<string> {
    return (await this.#keyring).sealing.id
  }

  async seal(value: SealedSession): Promise<string> {
    const { sealing } = await this.#keyring
    return sealIron({ sid: value.sid, createdAt: value.createdAt }, sealing)
  }

  /** A value that already verified (no crypto, no await): the hot path for a returning cookie. */
  peek(value: string): Verified | undefined {
    return this.#verified.get(value)
  }

  /** The verified content of a cookie value, or why it was rejected. Never rejects. */
  async unseal(value: string): Promise<UnsealResult> {
    const known = this.#verified.get(value)
    if (known) return known
    // Cheap structural checks first, so garbage costs no crypto.
    if (value.length > MAX_SEALED || !SEALED_PATTERN.test(value)) return 'malformed'
    const parts = value.split('*')
    if (parts.length !== 8 || parts[0] !== PREFIX) return 'malformed'
    const [, passwordId, encryptionSalt, iv, encrypted, expiration, integritySalt, mac] = parts as [string, string, string, string, string, string, string, string]
    const keyring = await this.#keyring
    const password = keyring.byId.get(passwordId)
    if (!password) return 'unknown_key'
    // One spelling per cookie: no salt or expiration (we never write them), and every base64url part
    // in its canonical form (a last character whose unused bits are set decodes to the same bytes).
    if (encryptionSalt !== '' || integritySalt !== '' || expiration !== '') return 'tampered'
    if (!isCanonicalBase64Url(iv) || !isCanonicalBase64Url(encrypted) || !isCanonicalBase64Url(mac)) return 'tampered'
    let content: unknown
    try {
      content = await unsealIron(value, password)
    } catch {
      return 'tampered'
    }
    // A valid seal of something that is not a session (another use of the same secret).
    const { sid, createdAt } = (content ?? {}) as Partial<SealedSession>
    if (typeof sid !== 'string' || !SID_PATTERN.test(sid) || typeof createdAt !== 'number' || !Number.isFinite(createdAt)) {
      return 'tampered'
    }
    const verified: Verified = { sid, createdAt, stale: password.id !== keyring.sealing.id, key: undefined }
    this.#verified.set(value, verified)
    return verified
  }
}
