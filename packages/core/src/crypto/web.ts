// The platform's cryptography on edge runtimes (Next's edge/proxy, Workers, Deno, Bun, browsers):
// Web Crypto and iron-webcrypto (built on Web Crypto), no `node:` module. Chosen by the `default`
// condition of the package's "#crypto" import (package.json); node.ts is the same interface on
// node:crypto and @hapi/iron. Web Crypto answers with promises, so hashing is asynchronous here.

import { defaults as ironDefaults, seal as ironSeal, unseal as ironUnseal } from 'iron-webcrypto'
import type { IronPassword } from './types.js'

export type { IronPassword } from './types.js'

const encoder = new TextEncoder()

/** `length` fresh random bytes from the platform CSPRNG. */
export function randomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length))
}

function base64Url(bytes: ArrayBuffer): string {
  let binary = ''
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte)
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

/** SHA-256 of the UTF-8 text, base64url without padding (43 characters). Asynchronous on Web Crypto. */
export function sha256Base64Url(text: string): string | Promise<string> {
  return crypto.subtle.digest('SHA-256', encoder.encode(text)).then(base64Url)
}

/** Imported HMAC keys, per key array: importKey once per key, not once per message. */
const hmacKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>()

function hmacKey(key: Uint8Array): Promise<CryptoKey> {
  let imported = hmacKeys.get(key)
  if (!imported) {
    imported = crypto.subtle.importKey('raw', key.slice(), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    hmacKeys.set(key, imported)
  }
  return imported
}

/** HMAC-SHA-256 of the UTF-8 text under `key`, base64url without padding. Asynchronous on Web Crypto. */
export function hmacSha256Base64Url(key: Uint8Array, text: string): string | Promise<string> {
  return hmacKey(key)
    .then((imported) => crypto.subtle.sign('HMAC', imported, encoder.encode(text)))
    .then(base64Url)
}

/** HMAC-SHA-256 of the UTF-8 text under `key`, 32 bytes. Asynchronous on Web Crypto. */
export function hmacSha256(key: Uint8Array, text: string): Uint8Array | Promise<Uint8Array> {
  return hmacKey(key)
    .then((imported) => crypto.subtle.sign('HMAC', imported, encoder.encode(text)))
    .then((mac) => new Uint8Array(mac))
}


/** An iron `Fe26.2` seal of the JSON value under pre-derived keys (iron-webcrypto, its default algorithms). */
export function sealIron(value: unknown, password: IronPassword): Promise<string> {
  return ironSeal(value, { id: password.id, encryption: password.encryption, integrity: password.integrity }, ironDefaults)
}

/** The value inside an iron seal made under `password`; rejects when the seal does not verify. */
export function unsealIron(sealed: string, password: IronPassword): Promise<unknown> {
  const keys = { encryption: password.encryption, integrity: password.integrity }
  return ironUnseal(sealed, { [password.id]: keys }, ironDefaults)
}

/** Which implementation this is (for tests and diagnostics). */
export const runtime = 'web' as const
