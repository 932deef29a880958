// The shapes both branches of "#crypto" share (node.ts, web.ts; check.ts keeps their functions identical).

/**
 * Pre-derived iron keys, in iron's own `{ id, encryption, integrity }` password form. With key bytes
 * (rather than a password string) @hapi/iron and iron-webcrypto use them as they are: no PBKDF2 per
 * seal, empty salt fields in the seal. Each key is 32 bytes (AES-256-CBC and HMAC-SHA-256).
 */
export interface IronPassword {
  /** iron's password id, written into the seal (letters, digits, underscores). */
  readonly id: string
  readonly encryption: Uint8Array
  readonly integrity: Uint8Array
}
