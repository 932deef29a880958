// Session ids: 144 bits from the platform CSPRNG ("#crypto"), base64url (24 characters). Never taken
// from a client.

import { randomBytes } from '#crypto'
import { toBase64Url } from './base64url.js'

const BYTES = 18

export function newSessionId(): string {
  return toBase64Url(randomBytes(BYTES))
}
