/// <reference types="node" />
// The platform's cryptography on Node: node:crypto, and @hapi/iron (built on node:crypto) for seals.
// Chosen by the `node` condition of the package's "#crypto" import (package.json); web.ts is the same
// interface on Web Crypto and iron-webcrypto. Every function here is a thin call into a library: no
// primitive is implemented in this package.

import * as Iron from '@hapi/iron'
import { createHash, createHmac, randomBytes as nodeRandomBytes } from 'node:crypto'
import type { IronPassword } from './types.js'

export type { IronPassword } from './types.js'

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

/** HMAC-SHA-256 of the UTF-8 text under `key`, 32 bytes. Synchronous on Node. */
export function hmacSha256(key: Uint8Array, text: string): Uint8Array | Promise<Uint8Array> {
  return createHmac('sha256', key).update(text, 'utf8').digest()
}


// @hapi/iron takes key bytes only as a Buffer (any other object is read as a password string).
function buffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** An iron `Fe26.2` seal of the JSON value under pre-derived keys (@hapi/iron, its default algorithms). */
export function sealIron(value: unknown, password: IronPassword): Promise<string> {
  return Iron.seal(value, { id: password.id, encryption: buffer(password.encryption), integrity: buffer(password.integrity) }, Iron.defaults)
}

/** The value inside an iron seal made under `password`; rejects when the seal does not verify. */
export function unsealIron(sealed: string, password: IronPassword): Promise<unknown> {
  const keys = { encryption: buffer(password.encryption), integrity: buffer(password.integrity) }
  return Iron.unseal(sealed, { [password.id]: keys }, Iron.defaults)
}

/** Which implementation this is (for tests and diagnostics). */
export const runtime = 'node' as const
