// The cookie carries `{ sid, createdAt }` sealed in iron's Fe26.2 format: encrypted and MAC'd,
// never the raw id. Sealing keeps derived keys (iron-keys.ts); unknown salts go to iron-webcrypto. Unsealing costs ~0.4 ms of crypto, so values that verified once are remembered
// in a small bounded cache: an unchanged cookie is verified by one Map lookup on later requests.
// A value enters the cache only after its MAC verified, so a forged cookie is never in it.

import { LRUCache } from 'lru-cache'
import { defaults as ironDefaults, macPrefix, unseal as ironUnseal } from 'iron-webcrypto'
import { IronKeys } from './iron-keys.js'
import type { ResolvedSecrets } from './options.js'

export interface SealedSession {
  sid: string
  createdAt: number
}

export interface Verified extends SealedSession {
  /** Sealed with a secret other than the current sealing one: re-seal on this response. */
  stale: boolean
}

export type RejectReason = 'tampered' | 'malformed' | 'unknown_key'
export type UnsealResult = Verified | RejectReason

/** How many verified cookie values are remembered. ~300 bytes each. */
export const VERIFIED_CACHE_SIZE = 10_000

const SID_PATTERN = /^[A-Za-z0-9_-]{22,64}$/
const SEALED_PATTERN = /^[A-Za-z0-9_\-*.~]+$/

export class Sealer {
  readonly #secrets: ResolvedSecrets
  readonly #passwords: Record<string, string>
  readonly #verified = new LRUCache<string, Verified>({ max: VERIFIED_CACHE_SIZE })
  readonly #keys: IronKeys

  constructor(secrets: ResolvedSecrets) {
    this.#secrets = secrets
    // Null prototype: a cookie naming password id "constructor" or "__proto__" finds nothing.
    this.#passwords = Object.assign(Object.create(null) as Record<string, string>, secrets.all)
    this.#keys = new IronKeys(this.#passwords, secrets.sealId)
  }

  seal(value: SealedSession): string {
    const sealed = this.#keys.seal({ sid: value.sid, createdAt: value.createdAt })
    this.#verified.set(sealed, { sid: value.sid, createdAt: value.createdAt, stale: false })
    return sealed
  }

  /** A value that already verified (no crypto, no await): the hot path for a returning cookie. */
  peek(value: string): Verified | undefined {
    return this.#verified.get(value)
  }

  /**
   * The verified content of a cookie value, or why it was rejected. Never throws. Synchronous unless
   * the seal's salts are unknown here (sealed by another process or before a restart): then
   * iron-webcrypto verifies it, asynchronously, once; its siblings verify synchronously after that.
   */
  unseal(value: string): UnsealResult | Promise<UnsealResult> {
    const known = this.#verified.get(value)
    if (known) return known
    // Cheap structural checks first, so garbage costs no crypto.
    if (value.length > 4096 || !SEALED_PATTERN.test(value)) return 'malformed'
    const parts = value.split('*')
    if (parts.length !== 8 || parts[0] !== macPrefix) return 'malformed'
    const passwordId = parts[1]!
    if (!Object.hasOwn(this.#passwords, passwordId)) return 'unknown_key'
    if (this.#keys.has(passwordId, parts[2]!, parts[6]!)) {
      const content = this.#keys.unseal(parts)
      return content === undefined ? 'tampered' : this.#accept(value, parts, content)
    }
    return ironUnseal(value, this.#passwords, ironDefaults).then(
      (content) => this.#accept(value, parts, content),
      () => 'tampered' as const,
    )
  }

  #accept(value: string, parts: string[], content: unknown): UnsealResult {
    const passwordId = parts[1]!
    // A valid seal of something that is not a session (another use of the same secret).
    const { sid, createdAt } = (content ?? {}) as Partial<SealedSession>
    if (typeof sid !== 'string' || !SID_PATTERN.test(sid) || typeof createdAt !== 'number' || !Number.isFinite(createdAt)) {
      return 'tampered'
    }
    const verified: Verified = { sid, createdAt, stale: passwordId !== this.#secrets.sealId }
    this.#verified.set(value, verified)
    // Other seals from the same process and hour share these salts: derive their keys once.
    this.#keys.learn(passwordId, parts[2]!, parts[6]!)
    return verified
  }

  /** Forget a cookie value (after logout, so a replay has to pay the full check again). */
  forget(value: string): void {
    this.#verified.delete(value)
  }
}
