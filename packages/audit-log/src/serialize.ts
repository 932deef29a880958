// The queued text of an event: exactly JSON.stringify(clipEvent(event, maxLength)), cheaper.
//
// Hand-written because write() runs on the request path, once or twice per request: for the events
// of the audit bench (session.created, session.evicted) JSON.stringify plus clipEvent cost ~9,500
// instructions per event, this ~6,800 (callgrind, flat output string included). It only takes the
// common case: a plain object whose keys are AuditEvent fields and whose values are numbers or
// strings of printable ASCII without `"` or `\` (nothing to escape), none longer than maxLength.
// Anything else (a `$`, an unknown key, a boolean, a long or non-ASCII value...) takes the general
// path, so the text is the same either way.

import type { AuditEvent } from '@sesame/core'
import { clipEvent } from './sanitize.js'

/**
 * The fields the fast path knows: the text before a value as the first field (`{"key":`) and as a
 * later one (`,"key":`), and whether clipEvent bounds the field.
 */
const FIELDS = new Map<string, { first: string; next: string; clipped: boolean }>()
for (const [key, clipped] of [
  ['type', true], ['at', true], ['sessionRef', true], ['userId', true], ['ip', true], ['userAgent', true],
  ['method', true], ['path', true], ['reason', true], ['ageMs', false], ['idleMs', false], ['count', false],
  ['operation', true], ['error', true],
] as const) {
  FIELDS.set(key, { first: `{"${key}":`, next: `,"${key}":`, clipped })
}

/** Text JSON.stringify writes as it is, and ASCII: no `\`, control or non-ASCII character. */
const PLAIN_TEXT = /^[^\\\x00-\x1f\x7f-\uffff]*$/

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
    const prefix = text === '' ? field.first : field.next
    if (typeof value === 'string') {
      if ((field.clipped && value.length > maxLength) || value.indexOf('"') !== -1) return undefined
      text += prefix + '"' + value + '"'
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      // String() and JSON write a finite number the same way (both print -0 as 0).
      text += prefix + String(value)
    } else {
      return undefined
    }
  }
  if (text === '') return '{}'
  text += '}'
  // One scan of the whole text for what needs escaping (quotes were checked per value); it also
  // flattens the string, which a tree of ~20 concatenations living in the queue until the drain
  // would otherwise cost the garbage collector.
  if (!PLAIN_TEXT.test(text)) return undefined
  return text
}

/** JSON of the event as queued: client-derived fields clipped to maxLength, no `$` property. */
export function serializeEvent(event: AuditEvent, maxLength: number): string {
  return serializePlain(event, maxLength) ?? JSON.stringify(clipEvent(event, maxLength))
}
