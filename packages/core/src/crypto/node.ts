/// <reference types="node" />
// The platform's cryptography on Node: node:crypto. Chosen by the `node` condition of the
// package's "#crypto" import (package.json); web.ts is the same interface on Web Crypto.
// Every function here is a thin call into node:crypto: no primitive is implemented in this package.

import { createHash, createHmac, randomBytes as nodeRandomBytes, timingSafeEqual } from 'node:crypto'

/** `length` fresh random bytes from the platform CSPRNG. */
export function randomBytes(length: number): Uint8Array {
  return new Uint8Array(nodeRandomBytes(length))
}

/** SHA-256 of the UTF-8 text, base64url without padding (43 characters). Synchronous on Node. */
export function sha256Base64Url(text: string): string | Promise<string> {
  return createHash('sha256').update(text, 'utf8').digest('base64url')
}

/** HMAC-SHA-256 of the UTF-8 text under `key`, base64url without padding. Synchronous on Node. */
export function hmacSha256Base64Url(key: Uint8Array, text: string): string | Promise<string> {
  return createHmac('sha256', key).update(text, 'utf8').digest('base64url')
}

/** Compare two byte strings in time independent of where they differ (false when lengths differ). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Which implementation this is (for tests and diagnostics). */
export const runtime = 'node' as const
