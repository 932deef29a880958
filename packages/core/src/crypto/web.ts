// The platform's cryptography on edge runtimes (Next's edge/proxy, Workers, Deno, Bun, browsers):
// Web Crypto only, no `node:` module. Chosen by the `default` condition of the package's "#crypto"
// import (package.json); node.ts is the same interface on node:crypto.

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

/** HMAC-SHA-256 of the UTF-8 text under `key`, base64url without padding. Asynchronous on Web Crypto. */
export function hmacSha256Base64Url(key: Uint8Array, text: string): string | Promise<string> {
  return crypto.subtle
    .importKey('raw', key as Uint8Array<ArrayBuffer>, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    .then((hmacKey) => crypto.subtle.sign('HMAC', hmacKey, encoder.encode(text)))
    .then(base64Url)
}

/** Compare two byte strings in time independent of where they differ (false when lengths differ). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!
  return difference === 0
}

/** Which implementation this is (for tests and diagnostics). */
export const runtime = 'web' as const
