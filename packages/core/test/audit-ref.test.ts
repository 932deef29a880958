// sessionRef is HMAC-SHA-256 (node:crypto / Web Crypto) under a key derived from the ref secret,
// stable for one session across a secret rotation; on the web branch refs arrive with promises and
// events still go out in emit order. Event times are exactly Date#toISOString.
import { createHmac, randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createEngine, memoryStore, type AuditEvent, type Engine, type MemoryStore } from '@sesame/core'
import { deriveRefKey, isoTime, sessionRef } from '../src/audit.js'
import type * as AuditModule from '../src/audit.js'

const refOf = (secret: string, value: string) => {
  const key = createHmac('sha256', secret).update('sesame/sessionRef/v1').digest()
  return createHmac('sha256', key).update(value).digest('base64url').slice(0, 22)
}

/** audit.ts bound to the web branch of "#crypto" (Web Crypto: every ref is a promise). */
async function webAudit(): Promise<typeof AuditModule> {
  vi.resetModules()
  vi.doMock('#crypto', () => import('../src/crypto/web.ts'))
  const module = await import('../src/audit.js')
  vi.doUnmock('#crypto')
  return module
}

describe('sessionRef', () => {
  const secret = 'a secret of thirty-two characters!'

  it('is HMAC-SHA-256 under the derived ref key, 22 base64url characters, on both branches', async () => {
    const web = await webAudit()
    const nodeKey = deriveRefKey(secret) as Uint8Array
    expect(nodeKey).toBeInstanceOf(Uint8Array)
    const webKey = web.deriveRefKey(secret)
    expect(webKey).not.toBeInstanceOf(Uint8Array)
    for (const value of ['', 'AbCdEfGhIjKlMnOpQrStUvWx', 'é😀', 'x'.repeat(5000), randomBytes(32).toString('base64url')]) {
      const expected = refOf(secret, value)
      expect(sessionRef(nodeKey, value)).toBe(expected)
      const webRef = web.sessionRef(await web.deriveRefKey(secret), value)
      expect(webRef).toBeInstanceOf(Promise)
      expect(await webRef).toBe(expected)
      expect(expected).toMatch(/^[A-Za-z0-9_-]{22}$/)
    }
    expect(sessionRef(nodeKey, 'a')).not.toBe(sessionRef(deriveRefKey('another secret of thirty-two chars') as Uint8Array, 'a'))
  })

  it('web branch: emit() returns at once, events reach hooks in emit order with their refs, flush() waits for them', async () => {
    const { Audit } = await webAudit()
    const seen: AuditEvent[] = []
    const audit = new Audit(secret, { hooks: [(event) => void seen.push(event)] }, 60_000)
    const subjects = Array.from({ length: 200 }, (_, i) => `subject-${i}`)
    subjects.forEach((subject, i) => {
      audit.emit(i % 3 === 0 ? 'session.rejected' : 'session.created', subject, { ip: `203.0.113.${i % 7}` }, i % 3 === 0 ? { reason: 'tampered' } : undefined)
    })
    expect(seen).toEqual([]) // nothing waited for Web Crypto inside emit()
    expect(audit.ref('subject-1')).toBeInstanceOf(Promise)
    await audit.flush()
    const created = seen.filter((event) => event.type === 'session.created')
    expect(created.map((event) => event.sessionRef)).toEqual(subjects.filter((_, i) => i % 3 !== 0).map((subject) => refOf(secret, subject)))
    // Rejections: the first per client address is delivered in its place, the rest folded into one
    // event per address on flush (coalescing works the same when refs are late).
    const rejected = seen.filter((event) => event.type === 'session.rejected')
    expect(rejected.filter((event) => event.count === undefined)).toHaveLength(7)
    expect(rejected.reduce((sum, event) => sum + (event.count ?? 1), 0)).toBe(subjects.filter((_, i) => i % 3 === 0).length)
    expect(seen.indexOf(rejected[0]!)).toBe(0)
    await audit.close()
  })
})

describe('sessionRef across a secret rotation (engine load/commit)', () => {
  const oldSecret = 'the-secret-before-rotation-0123456789'
  const newSecret = 'the-secret-after-the-rotation-9876543210'
  const request = (cookie?: string) => ({ cookie, encrypted: false, remoteAddress: '198.51.100.7', userAgent: 'test-agent', method: 'GET', path: '/' })
  const valueOf = (setCookie: string | undefined) => setCookie?.split(';', 1)[0]
  let store: MemoryStore
  const engines: Engine[] = []
  afterEach(async () => {
    for (const engine of engines.splice(0)) await engine.close()
    store.close()
  })

  function engineWith(secret: string | string[], events: AuditEvent[], refSecret?: string): Engine {
    const engine = createEngine({ secret, store, audit: { hooks: [(event) => void events.push(event)], ...(refSecret ? { refSecret } : {}) } })
    engines.push(engine)
    return engine
  }

  it('one session: login, the secret rotates (new prepended, old kept), it continues, logs out: one sessionRef throughout', async () => {
    store = memoryStore()
    const events: AuditEvent[] = []
    const before = engineWith(oldSecret, events)
    const login = await before.load(request())
    await login.session.login('alice')
    login.session.cart = ['apple']
    const cookie = valueOf(await before.commit(login))!
    // The rotation: a new process (or a restart) with the new secret first and the old one kept.
    const after = engineWith([newSecret, oldSecret], events)
    const next = await after.load(request(cookie))
    expect(next.session.cart).toEqual(['apple'])
    next.session.cart = ['apple', 'pear']
    const resealed = valueOf(await after.commit(next))!
    expect(resealed).not.toBe(cookie) // re-sealed with the new secret
    const listed = await after.listUserSessions('alice')
    const last = await after.load(request(resealed))
    expect(last.session.cart).toEqual(['apple', 'pear'])
    await last.session.logout()
    await after.commit(last)
    await before.audit.flush()
    await after.audit.flush()
    const types = events.map((event) => event.type)
    expect(types).toContain('session.login')
    expect(types.at(-1)).toBe('session.logout')
    const refs = new Set(events.map((event) => event.sessionRef))
    expect(refs.size).toBe(1)
    // The ref an app shows on a "your sessions" page is the same one.
    expect(listed.map((session) => session.ref)).toEqual([...refs])
  })

  it('the default ref key follows the oldest listed secret; audit.refSecret pins it through any rotation', async () => {
    store = memoryStore()
    const events: AuditEvent[] = []
    const third = 'a-third-secret-for-the-next-rotation-000'
    const pinned = 'the-audit-ref-secret-of-this-deployment'
    const first = engineWith(oldSecret, events, pinned)
    const state = await first.load(request())
    await state.session.login('bob')
    const cookie = valueOf(await first.commit(state))!
    // Two rotations later the oldest secret is gone (the session was re-sealed on its way).
    const second = engineWith([newSecret, oldSecret], events, pinned)
    const middle = await second.load(request(cookie))
    middle.session.n = 1
    const resealed = valueOf(await second.commit(middle))!
    const last = engineWith([third, newSecret], events, pinned)
    const end = await last.load(request(resealed))
    await end.session.logout()
    await last.commit(end)
    expect(events.map((event) => event.type)).toContain('session.logout')
    expect(new Set(events.map((event) => event.sessionRef)).size).toBe(1)
    // Without refSecret, dropping the oldest secret changes the ref (the documented limit).
    const unpinned = (secretOption: string | string[]) => createEngine({ secret: secretOption, audit: { hooks: [() => {}] } })
    const a = unpinned([newSecret, oldSecret])
    const b = unpinned([third, newSecret])
    const c = unpinned(oldSecret)
    expect(await a.audit.ref('x')).toBe(await c.audit.ref('x'))
    expect(await b.audit.ref('x')).not.toBe(await a.audit.ref('x'))
    for (const engine of [a, b, c]) await engine.close()
  })

  it('a short audit.refSecret is refused at start-up, without echoing it', () => {
    let error: unknown
    try {
      createEngine({ secret: oldSecret, audit: { refSecret: 'too-short-ref-secret' } })
    } catch (caught) {
      error = caught
    }
    expect(error).toMatchObject({ code: 'SESSION_CONFIG_INVALID' })
    expect((error as Error).message).toMatch(/`audit\.refSecret` is 20 characters; it must be at least 32/)
    expect((error as Error).message).not.toContain('too-short-ref-secret')
  })
})

describe('event time', () => {
  it('is Date#toISOString for any millisecond, also across seconds and backwards', () => {
    const base = Date.UTC(2026, 10, 23, 14, 41, 19)
    for (const offset of [0, 1, 9, 10, 99, 100, 999, 1000, 1001, -1, -1000, 59_999, 86_400_000, 3_600_000 * 24 * 400]) {
      const now = base + offset
      expect(isoTime(now)).toBe(new Date(now).toISOString())
    }
    for (const now of [0, -1, -62_198_755_200_000, 253_402_300_799_999, 253_402_300_800_000, 8.64e15]) {
      expect(isoTime(now)).toBe(new Date(now).toISOString())
    }
    for (let i = 0; i < 1000; i++) {
      const now = Math.floor(Math.random() * 4e12)
      expect(isoTime(now)).toBe(new Date(now).toISOString())
    }
  })
})
