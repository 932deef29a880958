// Random bytes from the platform CSPRNG, drawn in 4 KiB batches: each crypto.getRandomValues call
// has a fixed cost (~6 µs on Node) that dwarfs the 16-18 bytes a session id or an IV needs.

const POOL_SIZE = 4096
let pool = new Uint8Array(0)
let offset = 0

/** `length` fresh random bytes (a copy: callers may keep or change them). */
export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  if (offset + length > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(Math.max(POOL_SIZE, length)))
    offset = 0
  }
  const bytes = pool.slice(offset, offset + length)
  // Never hand out the same bytes twice.
  pool.fill(0, offset, offset + length)
  offset += length
  return bytes
}
