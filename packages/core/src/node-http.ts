// For adapters on Node's http.ServerResponse (Express, Koa with respond=false): hold the response
// until the session is committed, so the store write finishes and the Set-Cookie header is added
// before any byte leaves. Duck-typed, no `node:` import: core stays Web-APIs only.
//
// The first writeHead/write/end/flushHeaders call of a response commits the session; that call and
// every later one are queued and replayed in order once the commit settles (the engine's commit is a
// Promise; a commit function that answers at once lets the call go straight through).
// Two ways to see those calls:
// - Prototype wrappers (installHoldWrappers, once per framework response prototype, e.g. Express's):
//   no method is added to the response. Express gives every request and response a new hidden class
//   (its Object.setPrototypeOf detaches them from V8's transition tree), so every property added to
//   them builds a new map (~15-17k instructions each, measured with callgrind) and every property read
//   misses its inline cache. So the per-request Hold goes where no such cost is paid: in a slot on the
//   request's socket, which keeps its class across keep-alive requests, found again as res.req.socket.
//   Only when that socket already has a held response in flight (pipelining) does the Hold go under a
//   symbol on the response itself. Reads of the response's own fields use Reflect.get and
//   Object.hasOwn, which skip the inline-cache miss.
// - Own wrappers on the response (the fallback): when the response does not inherit the prototype
//   wrappers, or another middleware has already put its own writeHead/write/end on it (it may hold
//   the original method, so a prototype wrapper would never be called).

/** A commit resolves later (a Promise) or, from an older engine, answered at once. */
function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function'
}

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
/** The held response in flight on a socket, on the socket (see holdResponse). */
const SLOT = Symbol('sesame.hold.slot')
/** The wrappers installed on each prototype, to recognise a response that calls exactly them. */
const installed = new WeakMap<object, Record<Method, Fn | undefined>>()

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
  /** Its response's end() has gone out: the socket's slot is free for the next request. */
  ended = false
  queue: Array<[Fn, unknown[], Method]> | undefined
  readonly res: HoldableResponse
  readonly #commit: () => string | undefined | PromiseLike<string | undefined>
  readonly #onError: (error: unknown) => void

  constructor(res: HoldableResponse, commit: () => string | undefined | PromiseLike<string | undefined>, onError: (error: unknown) => void) {
    this.res = res
    this.#commit = commit
    this.#onError = onError
  }

  call(res: HoldableResponse, name: Method, original: Fn, args: unknown[]): unknown {
    if (this.phase === 2) {
      if (name === 'end') this.ended = true
      return original.apply(res, args)
    }
    if (this.phase === 3) {
      // The handler may still be writing (a piped stream): once the error response has ended,
      // its late writes are dropped instead of raising "write after end".
      if ((res as { writableEnded?: boolean }).writableEnded === true) return name === 'write' ? false : res
      return original.apply(res, args)
    }
    if (this.phase === 1) {
      this.queue!.push([original, args, name])
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
      if (name === 'end') this.ended = true
      return original.apply(res, args)
    }
    this.queue = [[original, args, name]]
    result.then(
      (cookie) => {
        this.phase = 2
        if (cookie !== undefined && !res.headersSent) appendSetCookie(res, cookie)
        const calls = this.queue!
        this.queue = undefined
        for (const [method, held, heldName] of calls) {
          if (heldName === 'end') this.ended = true
          method.apply(res, held)
        }
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
 * The Hold of a response that inherits the prototype wrappers: in its socket's slot when it is that
 * socket's only held response in flight (the common case: no property added to the response), else
 * under HOLD on the response itself.
 */
function holdOf(res: HoldableResponse): Hold | undefined {
  const req = Reflect.get(res, 'req') as { socket?: unknown } | null | undefined
  const socket = req == null ? undefined : (Reflect.get(req, 'socket') as { [SLOT]?: Hold } | null | undefined)
  const hold = socket == null ? undefined : socket[SLOT]
  return hold !== undefined && hold.res === res ? hold : (Reflect.get(res, HOLD) as Hold | undefined)
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
    const wrapper = function (this: HoldableResponse, ...args: unknown[]): unknown {
      const hold = holdOf(this)
      return hold === undefined ? original.apply(this, args) : hold.call(this, name, original, args)
    }
    Object.defineProperty(prototype, name, { value: wrapper, writable: true, configurable: true, enumerable: false })
    wrappers[name] = wrapper
  }
  installed.set(prototype, wrappers)
}

/**
 * Every method this response would call is one of our prototype wrappers: nothing between the
 * response and the prototype has its own writeHead/write/end/flushHeaders. Checked with
 * Object.hasOwn and Object.getPrototypeOf: reading res.end & co. would walk the prototype chain
 * through a missed inline cache on every request (see the top of this file).
 */
function inheritsWrappers(res: HoldableResponse, prototype: object | undefined): boolean {
  const wrappers = prototype === undefined ? undefined : installed.get(prototype)
  if (wrappers === undefined) return false
  let object: object | null = res
  while (object !== prototype) {
    if (object === null) return false
    if (Object.hasOwn(object, 'writeHead') || Object.hasOwn(object, 'write') || Object.hasOwn(object, 'end') || Object.hasOwn(object, 'flushHeaders')) return false
    object = Object.getPrototypeOf(object) as object | null
  }
  // Someone may have replaced a method on the prototype itself since (its class is stable: cheap reads).
  const methods = prototype as Record<Method, Fn | undefined>
  return methods.writeHead === wrappers.writeHead && methods.write === wrappers.write && methods.end === wrappers.end && methods.flushHeaders === wrappers.flushHeaders
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
  socket?: object | null,
): void {
  const hold = new Hold(res, commit, onError)
  if (inheritsWrappers(res, prototype)) {
    // Express gives each response a new hidden class (Object.setPrototypeOf), so adding a property
    // to it costs a new map every time (~17k instructions). A keep-alive socket keeps its class, and
    // res.req.socket leads back to it; a second request in flight on the socket (pipelining) uses
    // the response's own property instead.
    const slot = socket as { [SLOT]?: Hold } | null | undefined
    const previous = slot == null ? hold : slot[SLOT]
    if (slot != null && (previous === undefined || previous.ended)) slot[SLOT] = hold
    else (res as unknown as { [HOLD]: Hold })[HOLD] = hold
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
