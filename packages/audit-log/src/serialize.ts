// The queued text of an event: exactly JSON.stringify(clipEvent(event, maxLength)), cheaper.
//
// Hand-written because write() runs on the request path, once or twice per request: for the events
// of the audit bench (session.created, session.evicted) JSON.stringify plus clipEvent cost ~8,600
// instructions per event, this ~6,200 (callgrind, flat output string included). It only takes the
// common case: a plain object whose keys are AuditEvent fields and whose values are numbers or
// strings of printable ASCII without `"` or `\` (nothing to escape), none longer than maxLength.
// Anything else (a `$`, an unknown key, a boolean, a long or non-ASCII value...) takes the general
// path, so the text is the same either way.

import type { AuditEvent } from '@sesame/core'
import { CLIPPED_FIELDS, clipEvent } from './sanitize.js'

/**
 * The fields the fast path knows: the text before a value as the first field (`{"key":`) or a later
 * one (`,"key":`), with the opening quote of a string value already in it; and whether clipEvent
 * bounds the field.
 */
interface Field {
  first: string
  next: string
  firstString: string
  nextString: string
  clipped: boolean
}
const FIELDS = new Map<string, Field>()
const CLIPPED = new Set<string>(CLIPPED_FIELDS)
// Every AuditEvent field: the ones clipEvent bounds, and the numbers.
for (const key of [...CLIPPED_FIELDS, 'ageMs', 'idleMs', 'count']) {
  FIELDS.set(key, { first: `{"${key}":`, next: `,"${key}":`, firstString: `{"${key}":"`, nextString: `,"${key}":"`, clipped: CLIPPED.has(key) })
}

/** True when JSON.stringify writes `text` as it is between quotes, and it is ASCII. */
function plain(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x20 || code > 0x7e || code === 0x22 || code === 0x5c) return false
  }
  return true
}

/** The fast path, or undefined when the event needs the general one. */
function serializePlain(event: AuditEvent, maxLength: number): string | undefined {
  const proto = Object.getPrototypeOf(event)
  if (proto !== Object.prototype && proto !== null) return undefined
  const fields = event as unknown as Record<string, unknown>
  let text = ''
  for (const key in fields) {
    const value = fields[key]
    if (value === undefined) continue
    const field = FIELDS.get(key)
    if (field === undefined) return undefined
    if (typeof value === 'string') {
      if ((field.clipped && value.length > maxLength) || !plain(value)) return undefined
      text += (text === '' ? field.firstString : field.nextString) + value + '"'
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      // String() and JSON write a finite number the same way (both print -0 as 0).
      text += (text === '' ? field.first : field.next) + String(value)
    } else {
      return undefined
    }
  }
  if (text === '') return '{}'
  text += '}'
  // Flatten the string now (reading a character does): a tree of ~20 concatenations living in the
  // queue until the drain costs the garbage collector more than the copy.
  text.charCodeAt(0)
  return text
}

/** JSON of the event as queued: client-derived fields clipped to maxLength, no `$` property. */
export function serializeEvent(event: AuditEvent, maxLength: number): string {
  return serializePlain(event, maxLength) ?? JSON.stringify(clipEvent(event, maxLength))
}
