// The queued text of an event: exactly JSON.stringify(clipEvent(event, maxLength)), cheaper.
//
// write() runs on the request path, once or twice per request. clipEvent reads each of its eleven
// fields by name from the event (keyed loads that V8 cannot specialise), and a hand-written
// serializer that escaped in JavaScript cost ~7,000 instructions per event (callgrind, the audit
// bench's session.created and session.evicted). In the common case nothing needs clipping: the event
// has no `$` and no clipped field longer than maxLength, clipEvent returns the event itself, and the
// text is JSON.stringify(event), whose escaping runs in V8's C++. One pass over the event's own keys
// decides that; anything else takes the general path, so the text is the same either way.

import type { AuditEvent } from '@sesame/core'
import { CLIPPED_FIELDS, clipEvent } from './sanitize.js'

const CLIPPED = new Set<string>(CLIPPED_FIELDS)

/** True when clipEvent(event, maxLength) would return `event` itself (and for-in sees every key JSON.stringify writes). */
function fitsAsIs(event: AuditEvent, maxLength: number): boolean {
  const proto = Object.getPrototypeOf(event)
  if (proto !== Object.prototype && proto !== null) return false
  if ('$' in event) return false
  const fields = event as unknown as Record<string, unknown>
  for (const key in fields) {
    const value = fields[key]
    if (typeof value === 'string' && value.length > maxLength && CLIPPED.has(key)) return false
  }
  return true
}

/** JSON of the event as queued: client-derived fields clipped to maxLength, no `$` property. */
export function serializeEvent(event: AuditEvent, maxLength: number): string {
  return JSON.stringify(fitsAsIs(event, maxLength) ? event : clipEvent(event, maxLength))
}
