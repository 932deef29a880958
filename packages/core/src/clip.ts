// Clipping strings that come from a client (User-Agent, X-Forwarded-For, a path) before they are kept.
//
// `value.slice(0, n)` is not enough: V8 may return a "sliced string" that points into the original,
// so a 256-character clip of a 15 KB header keeps all 15 KB alive for as long as the clip is held (in a
// store record, an audit window, a rate-limit key). Every bound on hostile input must hold in bytes,
// so a kept clip is always a fresh, flat copy of its characters.

/** The first `max` characters of `value` as a new string that shares no memory with `value`. */
export function clipCopy(value: string, max: number): string
export function clipCopy(value: string | undefined, max: number): string | undefined
export function clipCopy(value: string | undefined, max: number): string | undefined {
  if (value === undefined) return undefined
  const clipped = value.length > max ? value.slice(0, max) : value
  // Concatenation builds a new string; flattening it (the slice of it that drops the prefix) copies
  // the characters out of the parent, so nothing refers to the original header afterwards.
  return (' ' + clipped).slice(1)
}
