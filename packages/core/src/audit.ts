// Audit events: their shape, the keyed `sessionRef`, and delivery to hooks and sinks.
// Delivery never blocks and never throws into the request: hooks run synchronously up to
// their first await and are not awaited; sinks only enqueue (a sink writes off the request path).

import { blake2s } from '@noble/hashes/blake2.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { toBase64Url } from './base64url.js'
import { keyedState, REF_KEY_MAX, shortRef } from './ref-hash.js'

export type AuditEventType =
  | 'session.created'
  | 'session.renewed'
  | 'session.login'
  | 'session.logout'
  | 'session.destroyed'
  | 'session.expired'
  | 'session.evicted'
  | 'session.rejected'
  | 'session.revoked'
  | 'store.error'
  | 'store.failover'

export type AuditReason =
  | 'idle'
  | 'absolute'
  | 'capacity'
  | 'tampered'
  | 'malformed'
  | 'unknown_key'
  | 'unknown_session'
  | 'key_rotation'
  | 'regenerate'
  | (string & {})

export interface AuditEvent {
  type: AuditEventType
  /** ISO-8601 UTC */
  at: string
  /** Keyed hash of the session id (or of the rejected cookie): stable for one session, useless to an attacker. */
  sessionRef: string
  userId?: string
  ip?: string
  userAgent?: string
  method?: string
  path?: string
  reason?: AuditReason
  ageMs?: number
  idleMs?: number
  /** For coalesced events (e.g. a flood of rejected cookies): how many this event stands for. */
  count?: number
  /** store.error: the operation and the error code, never the message of a foreign library verbatim. */
  operation?: string
  error?: string
}

export type AuditHook = (event: AuditEvent) => void | Promise<void>

export interface LogSink {
  /** Enqueue one event. Must return quickly: it is called on the request path. */
  write(event: AuditEvent): void
  /** Resolve once everything written so far is durable. */
  flush(): Promise<void>
  /** Flush, then release files and timers. */
  close(): Promise<void>
}

export interface AuditOptions {
  hooks?: AuditHook[]
  sinks?: LogSink[]
  /** Where a throwing hook or sink is reported. Default: one line on console.error (no ids in it). */
  onError?: (error: unknown, where: string) => void
  /**
   * Coalesce `session.rejected` events from one client address and reason: the first is delivered at
   * once, later ones within the interval are folded into one event carrying `count`, delivered when
   * the next window opens or on flush(). Default '1m'; 0 turns it off.
   */
  coalesceRejected?: number | string
  /** How long flush() and close() wait for sinks before reporting them through onError and going on. Default '5s'. */
  closeTimeout?: number | string
}

/** Request facts an event may carry. Resolved by core from what the adapter read. */
export interface ClientInfo {
  ip?: string | undefined
  userAgent?: string | undefined
  method?: string | undefined
  path?: string | undefined
}

const MAX_FIELD = 512
const encoder = new TextEncoder()

function clip(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  return value.length > MAX_FIELD ? value.slice(0, MAX_FIELD) : value
}

/** Derive the key for sessionRef from a secret, under its own label so it is never the sealing key. */
export function deriveRefKey(secret: string): Uint8Array {
  return hmac(sha256, encoder.encode(secret), encoder.encode('sesame/sessionRef/v1'))
}

/** Keyed BLAKE2s states with the key block already absorbed, per key (ref-hash.ts). */
const keyedStates = new WeakMap<Uint8Array, Int32Array>()

/**
 * A keyed hash of a session id or a cookie value: keyed BLAKE2s with a 128-bit output (RFC 7693),
 * base64url (22 characters). The key has 1 to 32 bytes (deriveRefKey gives 32); another length is a
 * RangeError. Session ids take the one-block path of ref-hash.ts; anything else goes through @noble/hashes.
 */
export function sessionRef(refKey: Uint8Array, value: string): string {
  let keyed = keyedStates.get(refKey)
  if (!keyed) {
    if (refKey.length < 1 || refKey.length > REF_KEY_MAX) throw new RangeError(`sessionRef: the key must have 1 to ${REF_KEY_MAX} bytes (got ${refKey.length}); deriveRefKey(secret) gives one`)
    keyedStates.set(refKey, (keyed = keyedState(refKey)))
  }
  return shortRef(keyed, value) ?? toBase64Url(blake2s(encoder.encode(value), { key: refKey, dkLen: 16 }))
}

// `at` of every event. Date#toISOString costs ~8,000 instructions (V8 formats it with snprintf);
// the text of the current second is kept and only the milliseconds are appended.
let isoSecond = Number.NaN
let isoPrefix = ''

/** `new Date(now).toISOString()`, cheaper when called many times within one second. */
export function isoTime(now: number = Date.now()): string {
  const second = Math.floor(now / 1000)
  if (second !== isoSecond) {
    const text = new Date(second * 1000).toISOString()
    // Outside years 0-9999 (or an invalid time) the format differs: no caching there.
    if (text.length !== 24) return new Date(now).toISOString()
    isoSecond = second
    isoPrefix = text.slice(0, 20)
  }
  const ms = now - second * 1000
  return isoPrefix + (ms < 10 ? '00' : ms < 100 ? '0' : '') + ms + 'Z'
}

function defaultOnError(error: unknown, where: string): void {
  const code = (error as { code?: unknown } | null)?.code
  const name = (error as { name?: unknown } | null)?.name
  console.error(`sesame: audit ${where} failed (${String(code ?? name ?? 'error')}); the request was not affected`)
}

/** Delivers events. One per engine. */
export class Audit {
  readonly enabled: boolean
  readonly #hooks: AuditHook[]
  readonly #sinks: LogSink[]
  readonly #onError: (error: unknown, where: string) => void
  readonly #refKey: Uint8Array
  readonly #coalesceMs: number
  readonly #rejectedWindows = new Map<string, { until: number; suppressed: number; last: AuditEvent }>()

  closeTimeoutMs = 5_000

  constructor(refKey: Uint8Array, options: AuditOptions | undefined, coalesceMs: number) {
    this.#hooks = options?.hooks ? [...options.hooks] : []
    this.#sinks = options?.sinks ? [...options.sinks] : []
    this.#onError = options?.onError ?? defaultOnError
    this.#refKey = refKey
    this.#coalesceMs = coalesceMs
    this.enabled = this.#hooks.length > 0 || this.#sinks.length > 0
  }

  ref(value: string): string {
    return sessionRef(this.#refKey, value)
  }

  /**
   * Emit an event about the session or cookie `subject` (hashed into sessionRef here).
   * Cheap when nobody listens: nothing is hashed or built.
   */
  emit(
    type: AuditEventType,
    subject: string,
    client: ClientInfo | undefined,
    extra?: Partial<Omit<AuditEvent, 'type' | 'at' | 'sessionRef'>>,
  ): void {
    if (!this.enabled) return
    const event: AuditEvent = { type, at: isoTime(), sessionRef: this.ref(subject) }
    if (client) {
      if (client.ip) event.ip = clip(client.ip)!
      if (client.userAgent) event.userAgent = clip(client.userAgent)!
      if (client.method) event.method = clip(client.method)!
      if (client.path) event.path = clip(client.path)!
    }
    if (extra) {
      // for..in, not Object.entries: no array of pairs per event (~2,300 instructions). `extra` is an
      // object literal of the engine's, so it has no inherited enumerable keys.
      const fields = event as unknown as Record<string, unknown>
      for (const key in extra) {
        const value = (extra as Record<string, unknown>)[key]
        if (value !== undefined) fields[key] = typeof value === 'string' ? clip(value) : value
      }
    }
    if (type === 'session.rejected' && this.#coalesceMs > 0 && this.#coalesce(event)) return
    this.deliver(event)
  }

  /** Returns true when the event was folded into an open window for its client. */
  #coalesce(event: AuditEvent): boolean {
    // One window per client and reason, so a flood of one kind never hides a different attack.
    const key = (event.ip ?? '') + ' ' + (event.reason ?? '')
    const now = Date.now()
    const window = this.#rejectedWindows.get(key)
    if (window && window.until > now) {
      window.suppressed++
      window.last = event
      return true
    }
    if (window && window.suppressed > 0) {
      // The previous window closed with events folded into it: report them before this one.
      this.deliver({ ...window.last, count: window.suppressed })
    }
    if (this.#rejectedWindows.size >= 10_000) this.#rejectedWindows.clear()
    this.#rejectedWindows.set(key, { until: now + this.#coalesceMs, suppressed: 0, last: event })
    return false
  }

  deliver(event: AuditEvent): void {
    for (const hook of this.#hooks) {
      try {
        const result = hook(event)
        if (result && typeof (result as Promise<void>).then === 'function') {
          ;(result as Promise<void>).then(undefined, (error: unknown) => this.#onError(error, 'hook'))
        }
      } catch (error) {
        this.#onError(error, 'hook')
      }
    }
    for (const sink of this.#sinks) {
      try {
        sink.write(event)
      } catch (error) {
        this.#onError(error, 'sink')
      }
    }
  }

  /** Report folded rejections that are still pending, then flush every sink. */
  async flush(): Promise<void> {
    for (const window of this.#rejectedWindows.values()) {
      if (window.suppressed > 0) this.deliver({ ...window.last, count: window.suppressed })
      window.suppressed = 0
    }
    await this.#bounded((sink) => sink.flush(), 'sink flush')
  }

  async close(): Promise<void> {
    await this.flush()
    await this.#bounded((sink) => sink.close(), 'sink close')
  }

  /** Run one call per sink; a sink that fails or outlives closeTimeout is reported, never awaited forever. */
  async #bounded(call: (sink: LogSink) => Promise<void>, what: string): Promise<void> {
    if (this.#sinks.length === 0) return
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.closeTimeoutMs)
      ;(timer as { unref?: () => void }).unref?.()
    })
    const all = Promise.all(this.#sinks.map((sink) => Promise.resolve().then(() => call(sink)).catch((error: unknown) => this.#onError(error, 'sink'))))
    const outcome = await Promise.race([all, timeout])
    clearTimeout(timer)
    if (outcome === 'timeout') this.#onError(Object.assign(new Error(`${what} timed out`), { code: 'AUDIT_SINK_TIMEOUT' }), 'sink')
  }
}
