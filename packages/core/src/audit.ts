// Audit events: their shape, the keyed `sessionRef`, and delivery to hooks and sinks.
// Delivery never blocks and never throws into the request: hooks run synchronously up to
// their first await and are not awaited; sinks only enqueue (a sink writes off the request path).
// On Node a sessionRef is computed synchronously (node:crypto) and an event is delivered within
// emit(); on Web Crypto it arrives with a promise, and events wait for their refs in emit order.

import { hmacSha256Base64Url } from '#crypto'
import { clipCopy } from './clip.js'
import { deriveKey, type MaybePromise } from './secret-keys.js'

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
  /**
   * The secret (at least 32 characters) the `sessionRef` key derives from. Default: the oldest listed
   * `secret` (the last of an array, the lowest id of an object), which a rotation that adds a new
   * sealing secret keeps; refs change only when that oldest secret itself is dropped. Set it to keep
   * refs stable across every rotation.
   */
  refSecret?: string
}

/** Request facts an event may carry. Resolved by core from what the adapter read. */
export interface ClientInfo {
  ip?: string | undefined
  userAgent?: string | undefined
  method?: string | undefined
  path?: string | undefined
}

/** Longest kept client-supplied text field (user agent, path, ...), in characters. */
export const MAX_FIELD = 512
/** Longest kept client address: an IPv6 address as text has at most 45 characters. */
export const MAX_IP = 64
/** Characters of the base64url HMAC kept as a sessionRef: 132 bits. */
const REF_LENGTH = 22
/** Most client windows of coalesced `session.rejected` events held at once. */
const MAX_REJECTED_WINDOWS = 10_000

function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  // Not `instanceof Promise`: Web Crypto's promises may come from another realm (a vm context).
  return typeof (value as { then?: unknown }).then === 'function'
}

/** Derive the key for sessionRef from a secret, under its own label so it is never a sealing key. */
export function deriveRefKey(secret: string): MaybePromise<Uint8Array> {
  return deriveKey(secret, 'sessionRef')
}

/**
 * A keyed hash of a session's store key (or of a rejected cookie): HMAC-SHA-256 under `refKey`,
 * base64url, its first 22 characters (132 bits). Synchronous on Node, a promise on Web Crypto.
 */
export function sessionRef(refKey: Uint8Array, value: string): MaybePromise<string> {
  const mac = hmacSha256Base64Url(refKey, value)
  return isPromise(mac) ? mac.then((text) => text.slice(0, REF_LENGTH)) : mac.slice(0, REF_LENGTH)
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
  #refKey: MaybePromise<Uint8Array>
  readonly #coalesceMs: number
  readonly #rejectedWindows = new Map<string, { until: number; suppressed: number; last: AuditEvent }>()
  /** Events waiting for their sessionRef (Web Crypto), in emit order; undefined when none waits. */
  #waiting: Promise<void> | undefined

  closeTimeoutMs = 5_000

  /** `refSecret`: what the sessionRef key derives from (ResolvedSecrets.refSecret). */
  constructor(refSecret: string, options: AuditOptions | undefined, coalesceMs: number) {
    this.#hooks = options?.hooks ? [...options.hooks] : []
    this.#sinks = options?.sinks ? [...options.sinks] : []
    this.#onError = options?.onError ?? defaultOnError
    this.#coalesceMs = coalesceMs
    this.enabled = this.#hooks.length > 0 || this.#sinks.length > 0
    const refKey = deriveRefKey(refSecret)
    this.#refKey = refKey
    if (isPromise(refKey)) {
      refKey.then(
        (key) => (this.#refKey = key),
        () => {},
      )
    }
  }

  /** The sessionRef of `subject` (whatever string the engine names a session by). */
  ref(subject: string): MaybePromise<string> {
    const key = this.#refKey
    return isPromise(key) ? key.then((resolved) => sessionRef(resolved, subject)) : sessionRef(key, subject)
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
    const event: AuditEvent = { type, at: isoTime(), sessionRef: '' }
    // Copies, never slices of the request's strings: a kept event (a coalescing window's last one)
    // must not keep a 15 KB header alive (clip.ts).
    if (client) {
      if (client.ip) event.ip = clipCopy(client.ip, MAX_IP)
      if (client.userAgent) event.userAgent = clipCopy(client.userAgent, MAX_FIELD)
      if (client.method) event.method = clipCopy(client.method, MAX_FIELD)
      if (client.path) event.path = clipCopy(client.path, MAX_FIELD)
    }
    if (extra) {
      // for..in, not Object.entries: no array of pairs per event (~2,300 instructions). `extra` is an
      // object literal of the engine's, so it has no inherited enumerable keys.
      const fields = event as unknown as Record<string, unknown>
      for (const key in extra) {
        const value = (extra as Record<string, unknown>)[key]
        if (value !== undefined) fields[key] = typeof value === 'string' ? clipCopy(value, MAX_FIELD) : value
      }
    }
    const ref = this.ref(subject)
    if (!isPromise(ref) && this.#waiting === undefined) {
      event.sessionRef = ref
      this.#route(event)
      return
    }
    this.#afterRef(event, ref)
  }

  /** Deliver `event` once its ref is known and every event emitted before it has gone out. */
  #afterRef(event: AuditEvent, ref: MaybePromise<string>): void {
    // Settle the ref now, so a failure is never an unhandled rejection while earlier events wait.
    const settled = Promise.resolve(ref).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    )
    const before = this.#waiting
    const done = (async () => {
      await before
      const outcome = await settled
      if ('error' in outcome) this.#onError(outcome.error, 'sessionRef')
      else {
        event.sessionRef = outcome.value
        this.#route(event)
      }
    })()
    this.#waiting = done
    void done.then(() => {
      if (this.#waiting === done) this.#waiting = undefined
    })
  }

  #route(event: AuditEvent): void {
    if (event.type === 'session.rejected' && this.#coalesceMs > 0 && this.#coalesce(event)) return
    this.deliver(event)
  }

  /** Returns true when the event was folded into an open window for its client. */
  #coalesce(event: AuditEvent): boolean {
    // One window per client and reason, so a flood of one kind never hides a different attack.
    // event.ip is already a clipped copy: the key holds at most MAX_IP characters of the address.
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
    if (this.#rejectedWindows.size >= MAX_REJECTED_WINDOWS) this.#rejectedWindows.clear()
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
    // Events still waiting for their sessionRef go out first (more may be emitted meanwhile).
    while (this.#waiting) await this.#waiting
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
