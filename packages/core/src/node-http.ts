// For adapters on Node's http.ServerResponse (Express, Koa with respond=false): hold the response
// until the session is committed, so the store write finishes and the Set-Cookie header is added
// before any byte leaves. Duck-typed, no `node:` import: core stays Web-APIs only.
//
// The first writeHead/write/end/flushHeaders call of a response commits the session. When the commit
// answers synchronously (the memory store), its cookie is added and the call goes straight through;
// otherwise that call and every later one are queued and replayed in order once the commit settles.
// Two ways to see those calls:
// - Prototype wrappers (installHoldWrappers, once per framework response prototype, e.g. Express's):
//   each request only stores its Hold under a symbol. Adding own methods to every response costs
//   more than the whole engine's load + commit (measured with callgrind on Express: ~100k
//   instructions per request), because Node's and the framework's code then sees response objects
//   of ever-changing shapes.
// - Own wrappers on the response (the fallback): when the response does not inherit the prototype
//   wrappers, or another middleware has already put its own writeHead/write/end on it (it may hold
//   the original method, so a prototype wrapper would never be called).

import { isThenable } from './maybe.js'

export interface HoldableResponse {
  readonly headersSent: boolean
  writeHead(...args: unknown[]): unknown
  write(...args: unknown[]): boolean
  end(...args: unknown[]): unknown
  flushHeaders?(): void
  getHeader(name: string): unknown
  setHeader(name: string, value: string | readonly string[]): unknown
  removeHeader?(name: string): void
}

type Method = 'writeHead' | 'write' | 'end' | 'flushHeaders'
type Fn = (...args: unknown[]) => unknown
const METHODS: readonly Method[] = ['writeHead', 'write', 'end', 'flushHeaders']
const ABANDONED_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-disposition', 'location', 'etag', 'last-modified']

/** Where a response's Hold lives when the prototype wrappers are in use. */
const HOLD = Symbol('sesame.hold')
/** The wrappers installed on each prototype, to recognise a response that calls exactly them. */
const installed = new WeakMap<object, Record<Method, Fn | undefined>>()
/** The prototype whose wrappers the last held response inherited (most apps have one). */
let lastPrototype: object | undefined
let lastWrappers: Record<Method, Fn | undefined> | undefined

/** Add one Set-Cookie value, keeping any the app set. */
export function appendSetCookie(res: Pick<HoldableResponse, 'getHeader' | 'setHeader'>, cookie: string): void {
  const previous = res.getHeader('set-cookie')
  if (previous === undefined) res.setHeader('Set-Cookie', cookie)
  else if (Array.isArray(previous)) res.setHeader('Set-Cookie', [...(previous as string[]), cookie])
  else res.setHeader('Set-Cookie', [String(previous), cookie])
}

/** What a held call returns to its caller before it has really run. */
function placeholder(name: Method, res: HoldableResponse): unknown {
  return name === 'write' ? true : name === 'flushHeaders' ? undefined : res
}

/** One response's hold: the commit to run at its first write, and the calls held meanwhile. */
class Hold {
  // 0: nothing sent yet; 1: holding calls while the commit runs; 2: committed, pass straight through;
  // 3: the commit failed, the error response is being built: pass through until it ends, then drop.
  phase = 0
  queue: Array<[Fn, unknown[]]> | undefined
  readonly #commit: () => string | undefined | PromiseLike<string | undefined>
  readonly #onError: (error: unknown) => void

  constructor(commit: () => string | undefined | PromiseLike<string | undefined>, onError: (error: unknown) => void) {
    this.#commit = commit
    this.#onError = onError
  }

  call(res: HoldableResponse, name: Method, original: Fn, args: unknown[]): unknown {
    if (this.phase === 2) return original.apply(res, args)
    if (this.phase === 3) {
      // The handler may still be writing (a piped stream): once the error response has ended,
      // its late writes are dropped instead of raising "write after end".
      if ((res as { writableEnded?: boolean }).writableEnded === true) return name === 'write' ? false : res
      return original.apply(res, args)
    }
    if (this.phase === 1) {
      this.queue!.push([original, args])
      return placeholder(name, res)
    }
    this.phase = 1
    let result: string | undefined | PromiseLike<string | undefined>
    try {
      result = this.#commit()
    } catch (error) {
      result = Promise.reject(error)
    }
    if (!isThenable(result)) {
      this.phase = 2
      if (result !== undefined && !res.headersSent) appendSetCookie(res, result)
      return original.apply(res, args)
    }
    this.queue = [[original, args]]
    result.then(
      (cookie) => {
        this.phase = 2
        if (cookie !== undefined && !res.headersSent) appendSetCookie(res, cookie)
        const calls = this.queue!
        this.queue = undefined
        for (const [method, held] of calls) method.apply(res, held)
      },
      (error: unknown) => {
        this.phase = 3
        this.queue = undefined
        // The held response will never be sent: drop what describes it, so the error response that
        // the framework builds next does not inherit its type, length or redirect target.
        if (!res.headersSent) for (const header of ABANDONED_HEADERS) res.removeHeader?.(header)
        // Asynchronously even when the commit threw at once: never inside the app's own res.end().
        this.#onError(error)
      },
    )
    return placeholder(name, res)
  }
}

/**
 * Install the hold wrappers once on a response prototype that belongs to a framework (never Node's
 * own ServerResponse.prototype: the adapter passes e.g. Express's response object). A response that
 * inherits them and has no Hold passes straight through.
 */
export function installHoldWrappers(prototype: object): void {
  if (installed.has(prototype)) return
  const target = prototype as Record<Method, Fn | undefined>
  const wrappers = {} as Record<Method, Fn | undefined>
  for (const name of METHODS) {
    const original = target[name]
    if (typeof original !== 'function') continue
    const wrapper = function (this: HoldableResponse & { [HOLD]?: Hold }, ...args: unknown[]): unknown {
      const hold = this[HOLD]
      return hold === undefined ? original.apply(this, args) : hold.call(this, name, original, args)
    }
    Object.defineProperty(prototype, name, { value: wrapper, writable: true, configurable: true, enumerable: false })
    wrappers[name] = wrapper
  }
  installed.set(prototype, wrappers)
}

/** Every method this response would call is one of our prototype wrappers (nothing shadows them). */
function inheritsWrappers(res: HoldableResponse, prototype: object | undefined): boolean {
  if (prototype === undefined) return false
  let wrappers = lastWrappers
  if (prototype !== lastPrototype) {
    wrappers = installed.get(prototype)
    if (wrappers === undefined) return false
    lastPrototype = prototype
    lastWrappers = wrappers
  }
  return res.writeHead === wrappers!.writeHead && res.write === wrappers!.write && res.end === wrappers!.end && res.flushHeaders === wrappers!.flushHeaders
}

/**
 * Hold `res` until `commit` settles: its Set-Cookie is added and the calls go out in order. If commit
 * fails, the held calls are dropped and `onError` gets the error while headers are still unsent, so
 * the framework's error path can answer (500/503) instead of the half-built response.
 * `prototype`: where installHoldWrappers put the wrappers this response may inherit.
 */
export function holdResponse(
  res: HoldableResponse,
  commit: () => string | undefined | PromiseLike<string | undefined>,
  onError: (error: unknown) => void,
  prototype?: object,
): void {
  const hold = new Hold(commit, onError)
  if (inheritsWrappers(res, prototype)) {
    ;(res as unknown as { [HOLD]: Hold })[HOLD] = hold
    return
  }
  // Own wrappers around whatever the response has now (the prototype's, or another middleware's).
  // They stay installed for the life of the response and are never deleted: deleting an own property
  // that is not the last one added turns the response into a slow dictionary-mode object.
  const target = res as unknown as Record<Method, Fn | undefined>
  for (const name of METHODS) {
    const original = target[name]
    if (typeof original !== 'function') continue
    target[name] = function (this: unknown, ...args: unknown[]): unknown {
      return hold.call(res, name, original, args)
    }
  }
}
