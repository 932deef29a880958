// Session data between the store's form (JSON text per key) and the app's (plain properties).

import { SessionDataInvalid, SessionTooLarge } from './errors.js'
import { RESERVED, unwrap } from './session.js'
import type { RequestState } from './state.js'
import type { SessionRecord } from './store.js'

/** JSON text per key, in an object without a prototype (so `key in texts` means exactly "written"). */
export type DataTexts = Record<string, string>

/** Put the record's data on the session object; the snapshot is the store's JSON text itself. */
export function fillSession(state: RequestState, record: SessionRecord): void {
  const target = unwrap(state.session) as Record<string, unknown>
  let snapshot = record.data as Record<string, string>
  let copied = false
  for (const key in record.data) {
    const text = record.data[key]!
    let value: unknown
    try {
      if (RESERVED.has(key)) throw new Error('reserved')
      value = JSON.parse(text)
    } catch {
      // A value that cannot be parsed (or a reserved name) never reaches the app; leave it untouched in the store.
      if (!copied) {
        snapshot = { ...snapshot }
        copied = true
      }
      delete snapshot[key]
      continue
    }
    // Not a reserved name, so no setter of Session.prototype is in the way of a plain assignment.
    target[key] = value
  }
  state.snapshot = snapshot
}

/** Serialize the session's data to JSON text per key; throws SessionDataInvalid or SessionTooLarge. */
export function serializeSession(state: RequestState, maxSessionBytes: number): DataTexts {
  const texts: DataTexts = Object.create(null) as DataTexts
  let size = 2
  const session = unwrap(state.session) as Record<string, unknown>
  for (const key of Object.keys(session)) {
    const value = session[key]
    if (value === undefined) continue
    const kind = typeof value
    if (kind === 'function' || kind === 'symbol' || kind === 'bigint') {
      throw new SessionDataInvalid(key, `a ${kind} is not JSON`)
    }
    let text: string | undefined
    try {
      text = JSON.stringify(value)
    } catch (error) {
      const cyclic = error instanceof TypeError && /circular|cyclic/i.test(error.message)
      throw new SessionDataInvalid(key, cyclic ? 'it contains a circular reference' : 'it contains a value JSON cannot represent (e.g. a BigInt)', { cause: error })
    }
    if (text === undefined) throw new SessionDataInvalid(key, 'it is not JSON')
    texts[key] = text
    size += key.length + text.length + 4
  }
  if (size > maxSessionBytes / 3) {
    // Characters undercount bytes for non-ASCII text: measure exactly only when it could matter.
    let bytes = 2
    const encoder = new TextEncoder()
    for (const key in texts) bytes += encoder.encode(key).length + encoder.encode(texts[key]!).length + 4
    if (bytes > maxSessionBytes) throw new SessionTooLarge(bytes, maxSessionBytes)
  }
  return texts
}

/** What changed between the snapshot and the new texts: keys to set and keys to remove. */
export function diffData(snapshot: Readonly<Record<string, string>>, texts: DataTexts): { set: Record<string, string>; unset: string[] } {
  const set: Record<string, string> = {}
  const unset: string[] = []
  for (const key in texts) if (snapshot[key] !== texts[key]) set[key] = texts[key]!
  for (const key in snapshot) if (!(key in texts)) unset.push(key)
  return { set, unset }
}

export function isEmpty(texts: DataTexts): boolean {
  for (const _ in texts) return false
  return true
}
