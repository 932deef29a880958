/// <reference types="node" />
// For adapters on Node's http.ServerResponse (Express, Koa's ctx.res): hold the response until the
// session is committed, so the store write finishes and the Set-Cookie header is added before any
// byte leaves. Duck-typed, no `node:` import (this subpath is for Node adapters only; core's main entry
// never reaches it).
//
// How: holdResponse puts its own writeHead/write/end on THAT response object (own properties,
// wrapping whatever the response had: the framework's methods, or another middleware's wrappers).
// Nothing shared is touched: no framework prototype, not Node's ServerResponse.prototype, not the
// socket, so other apps in the process and responses sesame does not hold are unaffected.
//
// Why these three and not an on-headers style hook: a hook on writeHead runs synchronously just before
// the headers are written, and the body bytes follow in the same call; the commit is asynchronous (a
// store write), so the call itself has to wait. Every way out goes through one of the three:
// res.end(body) with no writeHead (Node writes the headers implicitly from inside write/end),
// piped streams (write, then end), redirects, 304s and HEAD (end). flushHeaders() needs no wrapper of
// its own: Node's flushHeaders calls writeHead (held) and then sends what it has, which is nothing
// while the headers are held; once the commit settles, headers that were built but not yet sent are
// flushed, so a flushHeaders() (server-sent events) still gets its headers out before the body.
//
// Why not four: on Express every own property added to a response gives it a new hidden class, which
// V8 builds by copying the ~45 entries of the response's descriptor array (~25,000 instructions per
// property, test/bench/analysis.md); the fourth wrapper cost as much as sesame's whole engine load.
//
// The first of those calls starts the commit; it and every later call are queued and replayed in
// order once the commit settles, with the cookie added first.

export interface HoldableResponse {
  readonly headersSent: boolean
  readonly writableEnded?: boolean
  writeHead(...args: unknown[]): unknown
  write(...args: unknown[]): boolean
  end(...args: unknown[]): unknown
  flushHeaders?(): void
  getHeader(name: string): unknown
  setHeader(name: string, value: string | readonly string[]): unknown
  removeHeader?(name: string): void
}

/** What holdResponse waits for: the Set-Cookie value to add, or undefined for none. */
export type Commit = () => string | undefined | PromiseLike<string | undefined>

type Method = 'writeHead' | 'write' | 'end'
type Fn = (...args: unknown[]) => unknown
const METHODS: readonly Method[] = ['writeHead', 'write', 'end']
const ABANDONED_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-disposition', 'location', 'etag', 'last-modified']

/** Add one Set-Cookie value, keeping any the app set. */
export function appendSetCookie(res: Pick<HoldableResponse, 'getHeader' | 'setHeader'>, cookie: string): void {
  const previous = res.getHeader('set-cookie')
  if (previous === undefined) res.setHeader('Set-Cookie', cookie)
  else if (Array.isArray(previous)) res.setHeader('Set-Cookie', [...(previous as string[]), cookie])
  else res.setHeader('Set-Cookie', [String(previous), cookie])
}

/** What a held call returns to its caller before it has really run. */
function placeholder(name: Method, res: HoldableResponse): unknown {
  return name === 'write' ? true : res
}

type Phase =
  | 'open' // nothing sent yet
  | 'holding' // the commit runs: calls are queued
  | 'committed' // calls pass straight through
  | 'failed' // the commit failed: the error response passes through until it ends, later calls are dropped

/** One response's hold: the commit to run at its first write, and the calls held meanwhile. */
class Hold {
  phase: Phase = 'open'
  readonly queue: Array<[Method, Fn, unknown[]]> = []
  readonly #res: HoldableResponse
  readonly #commit: Commit
  readonly #onError: (error: unknown) => void

  constructor(res: HoldableResponse, commit: Commit, onError: (error: unknown) => void) {
    this.#res = res
    this.#commit = commit
    this.#onError = onError
  }

  call(name: Method, original: Fn, args: unknown[]): unknown {
    const res = this.#res
    switch (this.phase) {
      case 'committed':
        return original.apply(res, args)
      case 'failed':
        // The handler may still be writing (a piped stream): once the error response has ended,
        // its late writes are dropped instead of raising "write after end".
        if (res.writableEnded === true) return name === 'write' ? false : res
        return original.apply(res, args)
      case 'holding':
        this.queue.push([name, original, args])
        return placeholder(name, res)
      case 'open':
        this.phase = 'holding'
        this.queue.push([name, original, args])
        this.#start()
        return placeholder(name, res)
    }
  }

  #start(): void {
    // Through a promise even when the commit answers at once or throws: the outcome (replay, or the
    // framework's error path) never runs inside the app's own res.end().
    new Promise<string | undefined>((resolve) => resolve(this.#commit())).then(
      (cookie) => this.#release(cookie),
      (error: unknown) => this.#fail(error),
    )
  }

  #release(cookie: string | undefined): void {
    const res = this.#res
    this.phase = 'committed'
    if (cookie !== undefined && !res.headersSent) appendSetCookie(res, cookie)
    let wrote = false
    for (const [name, method, args] of this.queue.splice(0)) {
      // A second writeHead while held (writeHead, then flushHeaders, which calls it again): the
      // headers are built by the first; Node would throw ERR_HTTP_HEADERS_SENT here, in a microtask.
      if (name === 'writeHead' && res.headersSent) continue
      if (name !== 'writeHead') wrote = true
      try {
        method.apply(res, args)
      } catch (error) {
        // What the app would have got from a direct call (an invalid status code, say) reaches the
        // framework's error path instead of escaping as an unhandled rejection.
        this.queue.length = 0
        this.#onError(error)
        return
      }
    }
    // Headers built by a held writeHead or flushHeaders() but no byte yet: send them now, as an
    // unheld flushHeaders() would have (a server-sent events stream waits for them).
    if (!wrote && res.headersSent && !res.writableEnded) res.flushHeaders?.()
  }

  #fail(error: unknown): void {
    const res = this.#res
    this.phase = 'failed'
    this.queue.length = 0
    // The held response will never be sent: drop what describes it, so the error response that the
    // framework builds next does not inherit its type, length or redirect target.
    if (!res.headersSent) for (const header of ABANDONED_HEADERS) res.removeHeader?.(header)
    this.#onError(error)
  }
}

/**
 * Hold `res` until `commit` settles: its Set-Cookie is added and the calls go out in order. If commit
 * fails, the held calls are dropped and `onError` gets the error while headers are still unsent, so
 * the framework's error path can answer (500/503) instead of the half-built response.
 * The wrappers are own properties of `res` and stay for its life (deleting them again would turn the
 * response into a slow dictionary-mode object); once committed they pass every call straight through.
 */
export function holdResponse(res: HoldableResponse, commit: Commit, onError: (error: unknown) => void): void {
  const hold = new Hold(res, commit, onError)
  const methods = res as unknown as Record<Method, Fn | undefined>
  for (const name of METHODS) {
    const original = methods[name]
    if (typeof original !== 'function') continue
    methods[name] = function heldResponseMethod(...args: unknown[]): unknown {
      return hold.call(name, original, args)
    }
  }
}

const ignoredTrustProxy = new Set<string>()

/**
 * sesame's `trustProxy` means nothing to an adapter whose framework decides the client address and
 * protocol itself (Express's `trust proxy`, Koa's `app.proxy`): say so once per process and adapter,
 * with the framework's own setting to use instead. A process warning, code SESAME_TRUST_PROXY_IGNORED.
 */
export function warnTrustProxyIgnored(adapter: string, instead: string): void {
  if (ignoredTrustProxy.has(adapter)) return
  ignoredTrustProxy.add(adapter)
  process.emitWarning(`${adapter} ignores sesame's \`trustProxy\` option: ${instead}`, { code: 'SESAME_TRUST_PROXY_IGNORED' })
}
