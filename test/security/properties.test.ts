// Property-based tests (fast-check) driving the engine directly, in process: whatever cookie header
// a client sends and whatever JSON an app stores, the engine never throws an untyped error, never
// hands one client another session's data, never adopts an id the client chose, and never lets
// data reach Object.prototype or shadow the session's methods.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SesameError, createEngine, memoryStore, type AuditEvent, type Engine, type MemoryStore, type RequestState } from '@sesame/core'
import { SECRET, sealWith } from './kit.js'

// The reserved names as the core README documents them (sesame's members, then express-session's and koa-session's).
const RESERVED = ['id', 'isNew', 'meta', 'regenerate', 'login', 'logout', 'destroy', 'save', 'reload', 'touch', 'cookie', 'maxAge', 'length', 'populated', 'manuallyCommit', 'resetMaxAge', 'sesame.remember', '__proto__', 'constructor', 'prototype', 'toJSON']
const request = (cookie: string | undefined) => ({ cookie, encrypted: false, remoteAddress: '198.51.100.7', method: 'GET', path: '/' })
const valueOf = (setCookie: string) => setCookie.slice('sid='.length).split(';', 1)[0]!

/** Run load (+ optional writes) + commit; any error must be one of sesame's typed errors. */
async function typed<T>(run: () => Promise<T>): Promise<T | SesameError> {
  try {
    return await run()
  } catch (error) {
    expect(error, `untyped error: ${String(error)}`).toBeInstanceOf(SesameError)
    return error as SesameError
  }
}

describe('properties: cookie headers', () => {
  let engine: Engine
  let store: MemoryStore
  const events: AuditEvent[] = []
  /** Live sessions: cookie value -> { id, owner } */
  const live: Array<{ cookie: string; id: string; owner: number }> = []
  /** Sealed with the right secret, but naming ids the store does not have (destroyed, or chosen by a client). */
  const dead: Array<{ cookie: string; id: string }> = []

  beforeAll(async () => {
    store = memoryStore({ max: 100_000 })
    engine = createEngine({ secret: SECRET, store, audit: { hooks: [(event) => void events.push(event)], coalesceRejected: 0 } })
    for (let owner = 0; owner < 6; owner++) {
      const state = await engine.load(request(undefined))
      state.session.owner = owner
      if (owner % 2) await state.session.login(`user-${owner}`)
      const cookie = valueOf((await engine.commit(state))!)
      live.push({ cookie, id: state.session.id, owner })
    }
    for (let i = 0; i < 3; i++) {
      const state = await engine.load(request(undefined))
      state.session.doomed = true
      const cookie = valueOf((await engine.commit(state))!)
      const id = state.session.id
      const gone = await engine.load(request(`sid=${cookie}`))
      await gone.session.destroy()
      await engine.commit(gone)
      dead.push({ cookie, id })
    }
    for (const id of ['client-chosen-session-id-0001', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', live[0]!.id.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))]) {
      dead.push({ cookie: await sealWith({ sid: id, createdAt: Date.now() }, SECRET), id })
    }
  })
  afterAll(async () => {
    await engine.close()
    store.close()
  })

  const mutate = (value: string, at: number, char: string, mode: number) => {
    const i = at % Math.max(1, value.length)
    if (mode === 0) return value.slice(0, i) + char + value.slice(i + 1)
    if (mode === 1) return value.slice(0, i)
    return value.slice(0, i) + char + value.slice(i)
  }

  const fragment = () =>
    fc.oneof(
      fc.nat().map((i) => `sid=${live[i % live.length]!.cookie}`),
      fc.nat().map((i) => `sid="${live[i % live.length]!.cookie}"`),
      fc.tuple(fc.nat(), fc.nat(), fc.string({ minLength: 1, maxLength: 1 }), fc.nat({ max: 2 })).map(
        ([i, at, char, mode]) => `sid=${mutate(live[i % live.length]!.cookie, at, char, mode)}`,
      ),
      fc.nat().map((i) => `sid=${dead[i % dead.length]!.cookie}`),
      fc.string({ maxLength: 300 }).map((value) => `sid=${value}`),
      fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 40 })).map(([name, value]) => `${name}=${value}`),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.constantFrom('sid', 'sid=', ';', '=', 'sid==', 'Sid=x', 'sid=Fe26.2**', 'sid=Fe26.2*1*2*3*4*5*6*7'),
    )
  const header = fc.tuple(fc.array(fragment(), { minLength: 0, maxLength: 8 }), fc.constantFrom('; ', ';', ' ; ', ', ', ';;')).map(([parts, sep]) => parts.join(sep))

  it('load + write + commit never throws an untyped error, never serves another session, never adopts a chosen id', async () => {
    await fc.assert(
      fc.asyncProperty(header, async (cookieHeader) => {
        const eventsBefore = events.length
        const outcome = await typed(async () => {
          const state = await engine.load(request(cookieHeader))
          const session = state.session
          if (!session.isNew) {
            // Served an existing session: it must be one whose exact sealed cookie the client presented.
            const match = live.find((entry) => entry.id === session.id)
            expect(match, 'a loaded session is one of the live ones').toBeDefined()
            expect(cookieHeader.includes(match!.cookie), "the client presented that session's own cookie").toBe(true)
            expect(session.owner).toBe(match!.owner)
            return state
          }
          expect({ ...session }).toEqual({})
          session.visited = true
          const setCookie = await engine.commit(state)
          expect(setCookie).toBeDefined()
          const id = session.id
          // A fresh id: not any existing or dead id, not anything that appeared in the header.
          expect(live.some((entry) => entry.id === id) || dead.some((entry) => entry.id === id)).toBe(false)
          expect(cookieHeader.includes(id)).toBe(false)
          return state
        })
        expect(outcome).not.toBeInstanceOf(SesameError)
        const logged = JSON.stringify(events.slice(eventsBefore))
        for (const entry of [...live, ...dead]) {
          expect(logged.includes(entry.cookie)).toBe(false)
          expect(logged.includes(entry.id)).toBe(false)
        }
        for (const event of events.slice(eventsBefore)) {
          if (event.type === 'session.rejected') expect(['tampered', 'malformed', 'unknown_key', 'unknown_session']).toContain(event.reason)
        }
      }),
      { numRuns: 400 },
    )
    // The live sessions still hold exactly their own data.
    for (const entry of live) {
      const state = await engine.load(request(`sid=${entry.cookie}`))
      expect({ ...state.session }).toEqual({ owner: entry.owner })
    }
  })
})

describe('properties: session data', () => {
  let engine: Engine
  let store: MemoryStore
  beforeAll(() => {
    store = memoryStore()
    engine = createEngine({ secret: SECRET, store })
  })
  afterAll(async () => {
    await engine.close()
    store.close()
  })

  const key = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom(...RESERVED, 'hasOwnProperty', 'toString', 'valueOf', 'user', 'userId', '__defineGetter__'))
  const data = fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 })

  it('any JSON the app stores round-trips exactly; reserved names throw TypeError; nothing reaches Object.prototype', async () => {
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort()
    await fc.assert(
      fc.asyncProperty(data, data, async (first, second) => {
        const write = async (state: RequestState, values: Record<string, unknown>) => {
          const expected: Record<string, unknown> = { ...{ ...state.session } }
          for (const name of Object.keys(values)) {
            const value = values[name]
            // koa-session's `maxAge` is a member the app may set (a number or 'session': "remember me",
            // tested in test/compat); it never becomes data, which the round trip below checks.
            if (name === 'maxAge') continue
            if (RESERVED.includes(name)) {
              expect(() => {
                ;(state.session as Record<string, unknown>)[name] = value
              }, name).toThrow(TypeError)
              continue
            }
            ;(state.session as Record<string, unknown>)[name] = value
            Object.defineProperty(expected, name, { value: JSON.parse(JSON.stringify(value)), enumerable: true, writable: true, configurable: true })
          }
          return expected
        }
        const state = await engine.load(request(undefined))
        const expectedFirst = await write(state, first)
        const setCookie = await typed(() => engine.commit(state))
        expect(setCookie).not.toBeInstanceOf(SesameError)
        if (setCookie === undefined) {
          expect(expectedFirst).toEqual({})
          return
        }
        const cookie = `sid=${valueOf(setCookie as string)}`
        const again = await engine.load(request(cookie))
        expect(again.session.isNew).toBe(false)
        expect({ ...again.session }).toEqual(expectedFirst)
        // A second request changes some keys and deletes others.
        const expectedSecond = await write(again, second)
        for (const name of Object.keys(first).slice(0, 2)) {
          if (RESERVED.includes(name) || name in second) continue
          delete again.session[name]
          delete expectedSecond[name]
        }
        await typed(() => engine.commit(again))
        const third = await engine.load(request(cookie))
        expect({ ...third.session }).toEqual(expectedSecond)
        // The session's own members still work and are still the session's.
        for (const method of ['regenerate', 'login', 'logout', 'destroy', 'save', 'reload', 'touch']) {
          expect(typeof (third.session as unknown as Record<string, unknown>)[method]).toBe('function')
        }
        expect(typeof third.session.id).toBe('string')
        expect(Object.getPrototypeOf(third.session)).not.toBe(Object.prototype)
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys)
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      }),
      { numRuns: 300 },
    )
  })
})
