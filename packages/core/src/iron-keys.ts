// Iron (Fe26.2) sealing with derived keys kept, for the hot path.
//
// iron-webcrypto derives two keys with PBKDF2 for every seal and every unseal (a fresh random salt
// each time); with Web Crypto's import/derive calls that is most of the ~0.4 ms a seal costs, which
// would make every new session slower than express-session's whole creation path. Here a random
// salt pair is reused for up to an hour (every seal still has its own random IV), so its derived
// keys are computed once; AES-256-CBC and HMAC-SHA256 then run synchronously in @noble/ciphers and
// @noble/hashes (audited, no dependencies), which for a 60-byte payload costs a few microseconds
// where each async Web Crypto call costs tens. The output is a standard Fe26.2 seal that iron-webcrypto (and @hapi/iron)
// unseal; a seal whose salts we do not hold keys for is handed to iron-webcrypto itself.

import { cbc } from '@noble/ciphers/aes.js'
import { equalBytes } from '@noble/ciphers/utils.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha1 } from '@noble/hashes/legacy.js'
import { pbkdf2 } from '@noble/hashes/pbkdf2.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { macPrefix } from 'iron-webcrypto'
import { fromBase64Url, toBase64Url } from './base64url.js'
import { randomBytes } from './random.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder()
/** A new salt pair (and so new keys) at least this often. */
const SALT_LIFETIME_MS = 3_600_000
const SALT_MAX_USES = 1_000_000
/** Derived key pairs remembered for unsealing: the current one plus recent ones (other processes, restarts). */
const MAX_KEY_PAIRS = 64

interface KeyPair {
  encryption: Uint8Array
  /** HMAC-SHA256 with the integrity key already absorbed: clone() per message skips re-keying. */
  mac: ReturnType<typeof hmac.create>
}

function hex(bytes: Uint8Array): string {
  let text = ''
  for (let i = 0; i < bytes.length; i++) text += bytes[i]!.toString(16).padStart(2, '0')
  return text
}

/**
 * PBKDF2-SHA1, 1 iteration, 256 bits, salt as its hex text: exactly iron's default key derivation.
 * Synchronous (noble), so that sealing and unsealing with held salts never waits for a promise.
 */
function derive(secret: string, salt: string): Uint8Array {
  return pbkdf2(sha1, encoder.encode(secret), encoder.encode(salt), { c: 1, dkLen: 32 })
}

export class IronKeys {
  readonly #passwords: Record<string, string>
  readonly #sealId: string
  readonly #pairs = new Map<string, KeyPair>()
  #current: { encryptionSalt: string; integritySalt: string; until: number; uses: number } | undefined

  constructor(passwords: Record<string, string>, sealId: string) {
    this.#passwords = passwords
    this.#sealId = sealId
  }

  #pair(passwordId: string, encryptionSalt: string, integritySalt: string): KeyPair {
    const key = passwordId + '*' + encryptionSalt + '*' + integritySalt
    let pair = this.#pairs.get(key)
    if (!pair) {
      const secret = this.#passwords[passwordId]!
      pair = { encryption: derive(secret, encryptionSalt), mac: hmac.create(sha256, derive(secret, integritySalt)) }
      if (this.#pairs.size >= MAX_KEY_PAIRS) this.#pairs.delete(this.#pairs.keys().next().value!)
      this.#pairs.set(key, pair)
    }
    return pair
  }

  /** Whether unsealing this seal can use a derived key pair we hold. */
  has(passwordId: string, encryptionSalt: string, integritySalt: string): boolean {
    return this.#pairs.has(passwordId + '*' + encryptionSalt + '*' + integritySalt)
  }

  /** Remember the key pair of a seal that verified the slow way, so its siblings verify fast. */
  learn(passwordId: string, encryptionSalt: string, integritySalt: string): void {
    if (Object.hasOwn(this.#passwords, passwordId)) this.#pair(passwordId, encryptionSalt, integritySalt)
  }

  seal(value: unknown): string {
    const now = Date.now()
    let current = this.#current
    if (!current || now >= current.until || current.uses >= SALT_MAX_USES) {
      current = this.#current = {
        encryptionSalt: hex(randomBytes(32)),
        integritySalt: hex(randomBytes(32)),
        until: now + SALT_LIFETIME_MS,
        uses: 0,
      }
    }
    current.uses++
    const { encryptionSalt, integritySalt } = current
    const keys = this.#pair(this.#sealId, encryptionSalt, integritySalt)
    const iv = randomBytes(16)
    const encrypted = cbc(keys.encryption, iv).encrypt(encoder.encode(JSON.stringify(value)))
    const base = macPrefix + '*' + this.#sealId + '*' + encryptionSalt + '*' + toBase64Url(iv) + '*' + toBase64Url(encrypted) + '*'
    const mac = keys.mac.clone().update(encoder.encode(base)).digest()
    return base + '*' + integritySalt + '*' + toBase64Url(mac)
  }

  /**
   * Unseal with a held key pair. `parts` is the seal split on '*', already checked for shape and a
   * known password id. Returns undefined when the MAC fails or the content is not JSON.
   */
  unseal(parts: string[]): unknown {
    const [prefix, passwordId, encryptionSalt, ivText, encryptedText, expiration, integritySalt, macText] = parts as [string, string, string, string, string, string, string, string]
    if (expiration !== '') return undefined
    const keys = this.#pair(passwordId, encryptionSalt, integritySalt)
    const mac = fromBase64Url(macText)
    const iv = fromBase64Url(ivText)
    const encrypted = fromBase64Url(encryptedText)
    if (!mac || !iv || iv.length !== 16 || !encrypted) return undefined
    const base = prefix + '*' + passwordId + '*' + encryptionSalt + '*' + ivText + '*' + encryptedText + '*' + expiration
    // equalBytes compares in constant time.
    if (!equalBytes(keys.mac.clone().update(encoder.encode(base)).digest(), mac)) return undefined
    try {
      return JSON.parse(decoder.decode(cbc(keys.encryption, iv).decrypt(encrypted)))
    } catch {
      return undefined
    }
  }
}
