// Bounds on what the client controls, and safe text for terminals.
// Client-derived fields are clipped before they are queued so that one hostile request cannot grow
// a line (and the queue) without bound; anything the CLI prints is stripped of control sequences so
// that a crafted user agent cannot rewrite the operator's terminal.

import type { AuditEvent } from '@sesame/core'

/** Fields whose content a client or the app can choose. */
export const CLIPPED_FIELDS = ['userId', 'ip', 'userAgent', 'method', 'path', 'reason', 'operation', 'error', 'sessionRef', 'type', 'at'] as const

/**
 * Returns the event itself when nothing is too long (the common case costs no copy). A `$` property is
 * removed: in the log it marks the writer's own records (open, close, dropped).
 */
export function clipEvent(event: AuditEvent, maxLength: number): AuditEvent {
  let copy: Record<string, unknown> | undefined
  if ('$' in event) {
    copy = { ...event }
    delete copy.$
  }
  for (const field of CLIPPED_FIELDS) {
    const value = event[field]
    if (typeof value === 'string' && value.length > maxLength) {
      copy ??= { ...event } as Record<string, unknown>
      copy[field] = value.slice(0, maxLength)
    }
  }
  return (copy as AuditEvent | undefined) ?? event
}

// C0 and C1 controls (ESC, CSI 0x9b, BEL, backspace, CR...), DEL, and the Unicode direction overrides
// that can make text display in a different order than it is stored.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

function escapeCodePoint(char: string): string {
  const code = char.charCodeAt(0)
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
}

/** Text safe to print on a terminal: every control character becomes a visible escape. */
export function terminalSafe(text: string): string {
  return text.replace(CONTROL, escapeCodePoint)
}

/** JSON.stringify leaves C1 controls and direction overrides raw; escape them too (still valid JSON). */
export function terminalSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(CONTROL, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
