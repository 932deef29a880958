// Shared by the security suites: start an app on a harness with a recording audit hook and a
// call-counting (real) store, seal arbitrary payloads the way an attacker with a secret would, and
// watch for unhandled rejections.
import { Agent } from 'node:http'
import { afterAll, beforeAll } from 'vitest'
import request, { type Response } from 'supertest'
import { seal as ironSeal, defaults as ironDefaults } from 'iron-webcrypto'
import { memoryStore, resolveSecrets, type AuditEvent, type MemoryStore, type SessionOptions } from '@sesame/core'
import type { Harness, RunningApp } from '../conformance/harness.js'
import { FaultyStore } from '../support/faulty-store.js'

export const SECRET = 'security-suite-secret-0123456789-abcdef'
export const OTHER_SECRET = 'another-apps-secret-0123456789-abcdefgh'
/** The iron password id sesame derives for SECRET (what a cookie sealed by this app carries). */
export const SECRET_ID = resolveSecrets(SECRET).sealId

export interface App extends RunningApp {
  store: MemoryStore
  /** The same store, counting calls (and able to fail on demand). */
  faulty: FaultyStore
  events: AuditEvent[]
  eventsOf(type: string): AuditEvent[]
  /** Store writes so far: create + update + touch + rename + destroy. */
  writes(): number
}

/** Starts apps and closes them after each test file's tests. */
export class Apps {
  readonly #running: App[] = []
  constructor(readonly harness: Harness) {}

  async start(options: Partial<SessionOptions> = {}, store: MemoryStore = memoryStore({ max: 1000 })): Promise<App> {
    const events: AuditEvent[] = []
    const faulty = new FaultyStore(options.store ?? store)
    const running = await this.harness.start({
      secret: SECRET,
      ...options,
      store: faulty,
      audit: { hooks: [(event) => void events.push(event)], coalesceRejected: 0, ...options.audit },
    })
    const app: App = {
      ...running,
      store,
      faulty,
      events,
      eventsOf: (type) => events.filter((event) => event.type === type),
      writes: () => faulty.calls.create + faulty.calls.update + faulty.calls.touch + faulty.calls.rename + faulty.calls.destroy,
    }
    this.#running.push(app)
    return app
  }

  async closeAll(): Promise<void> {
    for (const app of this.#running.splice(0)) {
      await app.close()
      app.store.close()
    }
  }
}

/** Seal any payload with iron, as someone holding `secret` (or guessing it) would. */
export function sealWith(payload: unknown, secret: string, id: string = SECRET_ID): Promise<string> {
  return ironSeal(payload, { id, secret }, ironDefaults)
}

/** Reused connections: floods of thousands of requests are not slowed by a TCP handshake each. */
const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 })

/** A request that must finish: a hang fails the test instead of stalling the run. */
export function send(app: RunningApp, path: string, cookieHeader?: string, headers: Record<string, string> = {}) {
  const req = request(app.server).get(path).agent(keepAlive).timeout({ response: 5000, deadline: 10_000 })
  if (cookieHeader !== undefined) req.set('Cookie', cookieHeader)
  for (const [key, value] of Object.entries(headers)) req.set(key, value)
  return req
}

export function cookieOf(res: Response, name = 'sid'): string | undefined {
  const header = res.headers['set-cookie'] as string[] | string | undefined
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [header]
  const line = lines.find((entry) => entry.startsWith(name + '='))
  return line?.slice(name.length + 1).split(';', 1)[0]
}

/** Collects unhandled rejections for the whole file; assert with `expect(unhandled()).toEqual([])`. */
export function watchUnhandledRejections(): () => unknown[] {
  const seen: unknown[] = []
  const listener = (reason: unknown) => void seen.push(reason)
  beforeAll(() => void process.on('unhandledRejection', listener))
  afterAll(() => void process.off('unhandledRejection', listener))
  return () => seen
}
