// Keys derived from the configured secrets, one per purpose, so no two uses ever share a key:
//
//   key for purpose P = HMAC-SHA-256(key = the secret's UTF-8 bytes, message = 'sesame/P/v1')
//
// HMAC is a PRF, and the secret has at least 32 characters, so each output is an independent 256-bit
// key (the "expand" step of HKDF, RFC 5869, with the secret standing in for the extracted key).
// Purposes: 'seal/encryption' and 'seal/integrity' (the iron keys of cookies), 'key-id' (the public
// name of a secret in its seals) and 'sessionRef' (the audit ref key). Computed with "#crypto":
// synchronously on Node, with promises on Web Crypto; each is computed once per engine.

import { hmacSha256, type IronPassword } from '#crypto'

const encoder = new TextEncoder()

/** A value now (Node) or later (Web Crypto). */
export type MaybePromise<T> = T | Promise<T>

export type KeyPurpose = 'seal/encryption' | 'seal/integrity' | 'key-id' | 'sessionRef'

/** The 32-byte key for `purpose` derived from `secret`. */
export function deriveKey(secret: string, purpose: KeyPurpose): MaybePromise<Uint8Array> {
  return hmacSha256(encoder.encode(secret), `sesame/${purpose}/v1`)
}

function hex(bytes: Uint8Array, count: number): string {
  let text = ''
  for (let i = 0; i < count; i++) text += bytes[i]!.toString(16).padStart(2, '0')
  return text
}

/**
 * The iron password (id and keys) of one secret. `id` is the id the `{ id: secret }` form gave it;
 * otherwise the secret's fingerprint ('k' + 12 hex digits of its 'key-id' key), so that a cookie finds
 * its own secret however the list of secrets changes, and the seal names no secret.
 */
export async function ironPassword(secret: string, id: string | undefined): Promise<IronPassword> {
  const [encryption, integrity, keyId] = await Promise.all([deriveKey(secret, 'seal/encryption'), deriveKey(secret, 'seal/integrity'), deriveKey(secret, 'key-id')])
  return { id: id ?? 'k' + hex(keyId, 6), encryption, integrity }
}
