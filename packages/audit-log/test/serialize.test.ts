// The hand-written serializer of sink.write: byte for byte what JSON.stringify(clipEvent(...)) gives,
// and text that JSON.parse reads back to the same event, whatever the fields contain.
import { describe, expect, it } from 'vitest'
import type { AuditEvent } from '@sesame/core'
import { clipEvent } from '@sesame/audit-log'
import { serializeEvent } from '../src/serialize.js'

const reference = (event: AuditEvent, max = 512) => JSON.stringify(clipEvent(event, max))

function check(event: AuditEvent, max = 512): string {
  const text = serializeEvent(event, max)
  expect(text).toBe(reference(event, max))
  expect(JSON.parse(text)).toEqual(JSON.parse(reference(event, max)))
  return text
}

const base: AuditEvent = { type: 'session.created', at: '2026-11-30T21:00:00.123Z', sessionRef: 'AAAAAAAAAAAAAAAAAAAAAA' }

describe('serializeEvent', () => {
  it('writes the events of the request path (created, evicted) as JSON.stringify does, in field order', () => {
    expect(check({ ...base, ip: '127.0.0.1', method: 'GET', path: '/' })).toBe(
      '{"type":"session.created","at":"2026-11-30T21:00:00.123Z","sessionRef":"AAAAAAAAAAAAAAAAAAAAAA","ip":"127.0.0.1","method":"GET","path":"/"}',
    )
    check({ ...base, type: 'session.evicted', reason: 'capacity', userId: 'u-1' })
    check({ path: '/x', ...base, ageMs: 1234, idleMs: 0, count: 3 })
  })

  it('skips undefined fields as JSON.stringify does', () => {
    const text = check({ ...base, userId: undefined, ip: undefined, reason: 'capacity' })
    expect(text).not.toContain('userId')
  })

  it('escapes quotes, backslashes and control characters', () => {
    check({ ...base, userAgent: 'say "hi"' })
    check({ ...base, path: '/a\\b' })
    check({ ...base, userAgent: 'a\u0000b\nc\td\u001f\u007f' })
    check({ ...base, userId: '\u001b[31mred' })
  })

  it('keeps non-ASCII text and escapes lone surrogates like JSON.stringify', () => {
    check({ ...base, userId: 'José 名前 😀' })
    check({ ...base, userAgent: 'lone \ud800 high' })
    check({ ...base, userAgent: 'lone \udc00 low' })
    check({ ...base, path: '/\u2028\u2029' })
  })

  it('clips long client fields, including one cut inside a surrogate pair', () => {
    check({ ...base, userAgent: 'x'.repeat(600) })
    check({ ...base, userAgent: 'x'.repeat(9) + '😀' }, 10)
    // ageMs is a number field: never clipped (nor is a string put there by a caller).
    check({ ...base, ageMs: 'y'.repeat(20) as unknown as number }, 10)
  })

  it('takes the general path for anything unusual, with the same result', () => {
    check({ ...base, $: 'open' } as unknown as AuditEvent)
    check({ ...base, extra: { nested: [1, 2] } } as unknown as AuditEvent)
    check({ ...base, count: Number.NaN })
    check({ ...base, ageMs: -0 })
    check({ ...base, ageMs: 1e21, idleMs: 0.5 })
    check({ ...base, flag: true } as unknown as AuditEvent)
    check({ ...base, userId: null } as unknown as AuditEvent)
    check({ ...base, toJSON: () => ({ replaced: true }) } as unknown as AuditEvent)
    check(Object.assign(Object.create({ inherited: 'no' }), base) as AuditEvent)
    check(Object.assign(Object.create(null), base) as AuditEvent)
    check({} as AuditEvent)
  })
})
