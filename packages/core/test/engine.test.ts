// The engine driven directly, as an adapter does: load(request) -> session -> commit().
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createEngine, memoryStore, replaceData, SessionReadOnly, type AuditEvent, type Engine, type MemoryStore } from '@sesame/core'
import { FaultyStore } from '../../../test/support/faulty-store.js'

const secret = 'engine-test-secret-0123456789-abcdefgh'
const request = (cookie?: string, extra: object = {}) => ({ cookie, encrypted: false, remoteAddress: '198.51.100.7', userAgent: 'test-agent', method: 'GET', path: '/', ...extra })
const valueOf = (setCookie: string | undefined) => setCookie?.split(';', 1)[0]

describe('engine', () => {
  let store: MemoryStore
  let engine: Engine
  let events: AuditEvent[]
  const make = (options: object = {}) => {
    events = []
    store = memoryStore()
    engine = createEngine({ secret, store, audit: { hooks: [(event) => void events.push(event)] }, ...options })
    return engine
  }
  afterEach(async () => {
    vi.useRealTimers()
    await engine.close()
    store.close()
  })

  async function newSession(userId?: string): Promise<string> {
    const state = await engine.load(request())
    state.session.n = 1
    if (userId) await state.session.login(userId)
    return valueOf(await engine.commit(state))!
  }

  it('reserved names cannot be overwritten and never become data', async () => {
    make()
    const { session } = await engine.load(request())
    for (const name of ['id', 'isNew', 'meta', 'save', 'login', 'logout', 'destroy', 'regenerate', 'reload', 'touch', 'constructor', '__proto__']) {
      expect(() => {
        ;(session as Record<string, unknown>)[name] = 'x'
      }, name).toThrow(TypeError)
    }
    expect(() => ((session as Record<string, unknown>).id = 'x')).toThrow(/reserved by sesame/)
    session.userId = 'app-data'
    session.user = { name: 'Ada' }
    expect(Object.keys(session)).toEqual(['userId', 'user'])
    expect(JSON.stringify(session)).toBe('{"userId":"app-data","user":{"name":"Ada"}}')
    expect(typeof session.save).toBe('function')
    expect(Object.getPrototypeOf(session)).not.toBe(Object.prototype)
  })

  it('a request that changes nothing writes nothing until the touch interval passes', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    make({ idleTimeout: '10m' })
    const cookie = await newSession()
    const first = await engine.load(request(cookie))
    const lastActive = first.lastActiveAt
    expect(await engine.commit(first)).toBeUndefined()
    vi.setSystemTime(Date.now() + 30_000)
    const quiet = await engine.load(request(cookie))
    await engine.commit(quiet)
    expect(quiet.lastActiveAt).toBe(lastActive) // within the 60 s touch interval: no write
    vi.setSystemTime(Date.now() + 40_000)
    const touching = await engine.load(request(cookie))
    await engine.commit(touching)
    expect(touching.lastActiveAt).toBe(Date.now())
  })

  it('an anonymous session is stored without the client address or user agent, and creating it never asks for the address; login stores both', async () => {
    store = memoryStore()
    engine = createEngine({ secret, store }) // no audit listener: nothing else wants the address
    let addressReads = 0
    const counted = (cookie?: string) => ({ ...request(cookie), get remoteAddress() { addressReads++; return '198.51.100.7' } })
    const state = await engine.load(counted())
    state.session.n = 1
    const cookie = valueOf(await engine.commit(state))!
    expect(addressReads).toBe(0)
    expect(await store.get(state.key!)).toMatchObject({ ip: undefined, userAgent: undefined })
    const back = await engine.load(counted(cookie))
    await back.session.login('ada')
    await engine.commit(back)
    expect(await store.get(back.key!)).toMatchObject({ ip: '198.51.100.7', userAgent: 'test-agent', userId: 'ada' })
  })

  it('login binds the user: list, revoke one, revoke all but the current', async () => {
    make()
    const a = await newSession('ada')
    const b = await newSession('ada')
    await newSession('ada')
    await newSession('grace')
    const current = await engine.load(request(a))
    const listed = await engine.listUserSessions('ada', { current: current.session.id })
    expect(listed).toHaveLength(3)
    expect(listed.filter((entry) => entry.current)).toHaveLength(1)
    expect(listed[0]).toMatchObject({ ip: '198.51.100.7', userAgent: 'test-agent' })
    expect(JSON.stringify(listed)).not.toContain(current.session.id)
    const other = listed.find((entry) => !entry.current)!
    expect(await engine.revokeSession('ada', other.ref)).toBe(true)
    expect(await engine.revokeSession('grace', listed.find((entry) => entry.current)!.ref)).toBe(false)
    expect(await engine.listUserSessions('ada')).toHaveLength(2)
    expect(await engine.revokeUserSessions('ada', { except: current.session.id })).toBe(1)
    expect((await engine.listUserSessions('ada')).map((entry) => entry.current)).toEqual([false])
    expect((await engine.load(request(a))).isNew).toBe(false)
    expect((await engine.load(request(b))).isNew).toBe(true)
    expect(events.filter((event) => event.type === 'session.revoked')).toHaveLength(2)
    expect((await engine.listUserSessions('grace'))).toHaveLength(1)
  })

  it('events carry a keyed sessionRef: stable for a session, never the id or the cookie', async () => {
    make()
    const cookie = await newSession('ada')
    const state = await engine.load(request(cookie))
    const id = state.session.id
    await state.session.logout()
    await engine.commit(state)
    const login = events.find((event) => event.type === 'session.login')!
    const logout = events.find((event) => event.type === 'session.logout')!
    expect(login.sessionRef).toBe(logout.sessionRef)
    expect(login.sessionRef).toMatch(/^[A-Za-z0-9_-]{22}$/)
    const text = JSON.stringify(events)
    expect(text).not.toContain(id)
    expect(text).not.toContain(cookie.split('=')[1]!)
    expect(text).not.toContain(secret)
    expect(logout).toMatchObject({ userId: 'ada', ip: '198.51.100.7', method: 'GET', path: '/' })
    expect(new Date(logout.at).toISOString()).toBe(logout.at)
  })

  it('a throwing or rejecting hook is reported and never breaks the request', async () => {
    const reported: string[] = []
    store = memoryStore()
    engine = createEngine({
      secret,
      store,
      audit: {
        hooks: [() => { throw new Error('hook bug') }, async () => { throw new Error('async hook bug') }],
        onError: (_error, where) => void reported.push(where),
      },
    })
    const state = await engine.load(request())
    state.session.n = 1
    expect(await engine.commit(state)).toMatch(/^sid=Fe26\.2/)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(reported).toEqual(['hook', 'hook'])
  })

  it('close() does not hang on a sink that never finishes flushing: it reports it and returns', async () => {
    const reported: unknown[] = []
    store = memoryStore()
    engine = createEngine({
      secret,
      store,
      audit: {
        sinks: [{ write() {}, flush: () => new Promise<void>(() => {}), close: async () => {} }],
        closeTimeout: 50,
        onError: (error) => void reported.push((error as { code?: string }).code),
      },
    })
    const started = Date.now()
    await engine.close()
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(reported).toEqual(['AUDIT_SINK_TIMEOUT'])
  })

  it('a read-only session refuses writes with a clear error', async () => {
    make()
    const cookie = await newSession()
    const state = await engine.load(request(cookie, { readOnly: true }))
    expect(state.session.n).toBe(1)
    expect(() => (state.session.n = 2)).toThrow(SessionReadOnly)
    expect(() => delete state.session.n).toThrow(/read-only/)
    await expect(state.session.save()).rejects.toThrow(SessionReadOnly)
    expect(await engine.commit(state)).toBeUndefined()
  })

  it('replaceData makes the data exactly the given object\'s, a spread of the session included; a read-only session is left intact', async () => {
    make()
    const cookie = await newSession()
    const state = await engine.load(request(cookie))
    state.session.flash = 'saved'
    replaceData(state, { ...state.session, flash: undefined, user: 'ada' })
    expect({ ...state.session }).toEqual({ n: 1, flash: undefined, user: 'ada' })
    replaceData(state, { user: 'bob' })
    expect({ ...state.session }).toEqual({ user: 'bob' })
    expect(() => replaceData(state, { id: 'mine' })).toThrow()
    const readOnly = await engine.load(request(cookie, { readOnly: true }))
    expect(() => replaceData(readOnly, { other: 1 })).toThrow(SessionReadOnly)
    expect({ ...readOnly.session }).toEqual({ n: 1 })
  })

  it('a read-only request counts as activity (a throttled touch) but never writes data or a cookie', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    make({ idleTimeout: '10m' })
    const state0 = await engine.load(request())
    state0.session.cart = ['a']
    const cookie = valueOf(await engine.commit(state0))!
    vi.setSystemTime(Date.now() + 5 * 60_000)
    const read = await engine.load(request(cookie, { readOnly: true }))
    ;(read.session.cart as string[]).push('smuggled') // a nested mutation the Proxy cannot see
    expect(await engine.commit(read)).toBeUndefined()
    vi.setSystemTime(Date.now() + 6 * 60_000) // 11 min after creation, 6 after the read: alive
    const later = await engine.load(request(cookie))
    expect(later.isNew).toBe(false)
    expect(later.session.cart).toEqual(['a'])
  })

  it('session.save() writes immediately; reload() sees other requests\' writes', async () => {
    make()
    const cookie = await newSession()
    const first = await engine.load(request(cookie))
    const second = await engine.load(request(cookie))
    first.session.saved = 'early'
    await first.session.save()
    expect(second.session.saved).toBeUndefined()
    await second.session.reload()
    expect(second.session.saved).toBe('early')
  })

  it('logout then writing starts a new session in the same response', async () => {
    make()
    const cookie = await newSession('ada')
    const state = await engine.load(request(cookie))
    await state.session.logout()
    state.session.flash = 'You have been logged out'
    const setCookie = await engine.commit(state)
    expect(setCookie).toMatch(/^sid=Fe26/)
    expect(valueOf(setCookie)).not.toBe(cookie)
    const next = await engine.load(request(valueOf(setCookie)))
    expect({ ...next.session }).toEqual({ flash: 'You have been logged out' })
    expect(next.userId).toBeUndefined()
  })

  it('sessions of concurrent requests expiring together are each reported as expired, none as a forgery', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    events = []
    store = memoryStore()
    // An asynchronous store around the real one: every load waits for its get, so the store's expiry
    // reports of all requests arrive before any of them looks at its miss.
    engine = createEngine({ secret, store: new FaultyStore(store), idleTimeout: '10m', audit: { hooks: [(event) => void events.push(event)] } })
    const cookies = [await newSession(), await newSession(), await newSession()]
    vi.setSystemTime(Date.now() + 11 * 60_000)
    events.length = 0
    const states = await Promise.all(cookies.map((cookie) => engine.load(request(cookie))))
    expect(states.map((state) => state.isNew)).toEqual([true, true, true])
    expect(events.filter((event) => event.type === 'session.rejected')).toEqual([])
    const expired = events.filter((event) => event.type === 'session.expired')
    expect(expired.map((event) => event.reason)).toEqual(['idle', 'idle', 'idle'])
    expect(new Set(expired.map((event) => event.sessionRef)).size).toBe(3)
    // Each cookie is cleared; a replay afterwards is a cookie naming no session.
    for (const state of states) expect(await engine.commit(state)).toMatch(/Max-Age=0/)
    events.length = 0
    await engine.load(request(cookies[0]))
    expect(events.map((event) => [event.type, event.reason])).toEqual([['session.rejected', 'unknown_session']])
  })

  it('store events and request events of one session share its sessionRef (both name it by its store key)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    make({ idleTimeout: '10m' })
    const cookie = await newSession('ada')
    const login = events.find((event) => event.type === 'session.login')!
    vi.setSystemTime(Date.now() + 11 * 60_000)
    store.purgeExpired()
    const expired = events.find((event) => event.type === 'session.expired')!
    expect(expired).toMatchObject({ reason: 'idle', userId: 'ada', sessionRef: login.sessionRef })
    const later = await engine.load(request(cookie))
    expect(later.isNew).toBe(true)
    expect(events.filter((event) => event.type === 'session.rejected')).toEqual([])
  })

  it("sameSite 'none' always sends Secure, also with secure 'auto' on a plain-HTTP request", async () => {
    make({ cookie: { sameSite: 'none' } })
    const state = await engine.load(request())
    state.session.n = 1
    const setCookie = await engine.commit(state)
    expect(setCookie).toMatch(/; Secure/)
    expect(setCookie).toMatch(/; SameSite=None/)
    await state.session.logout()
    expect(await engine.commit(state)).toMatch(/Max-Age=0.*; Secure.*; SameSite=None/)
  })

  it('a session destroyed by a concurrent request is never brought back by regenerate() or login()', async () => {
    make()
    for (const action of ['regenerate', 'login'] as const) {
      const cookie = await newSession()
      const slow = await engine.load(request(cookie))
      const other = await engine.load(request(cookie))
      await other.session.logout()
      await engine.commit(other)
      slow.session.cart = ['from the destroyed session']
      if (action === 'login') await slow.session.login('ada')
      else await slow.session.regenerate()
      const setCookie = await engine.commit(slow)
      if (action === 'regenerate') {
        // Nothing is stored and the old cookie is cleared.
        expect(setCookie, action).toMatch(/Max-Age=0/)
        expect(store.size, action).toBe(0)
      } else {
        // The login still starts the user's new session, without the destroyed session's data.
        const next = await engine.load(request(valueOf(setCookie)))
        expect(next.isNew, action).toBe(false)
        expect(next.userId, action).toBe('ada')
        expect({ ...next.session }, action).toEqual({})
        await next.session.logout()
        await engine.commit(next)
      }
      expect((await engine.load(request(cookie))).isNew, action).toBe(true)
    }
  })
})
