// For adapters on Node's http.ServerResponse (Express, Koa with respond=false): hold the response
// until the session is committed, so the store write finishes and the Set-Cookie header is added
// before any byte leaves. Duck-typed, no `node:` import: core stays Web-APIs only.

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
const ABANDONED_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-disposition', 'location', 'etag', 'last-modified']

/** Add one Set-Cookie value, keeping any the app set. */
export function appendSetCookie(res: Pick<HoldableResponse, 'getHeader' | 'setHeader'>, cookie: string): void {
  const previous = res.getHeader('set-cookie')
  if (previous === undefined) res.setHeader('Set-Cookie', cookie)
  else if (Array.isArray(previous)) res.setHeader('Set-Cookie', [...(previous as string[]), cookie])
  else res.setHeader('Set-Cookie', [String(previous), cookie])
}

/**
 * The first writeHead/write/end/flushHeaders call is queued (with every call after it), `commit`
 * runs, its Set-Cookie is added, and the calls replay in order. If commit fails, the queued calls
 * are dropped and `onError` gets the error while headers are still unsent, so the framework's
 * error path can answer (500/503) instead of the half-built response.
 */
export function holdResponse(
  res: HoldableResponse,
  commit: () => Promise<string | undefined>,
  onError: (error: unknown) => void,
): void {
  const target = res as unknown as Record<Method, ((...args: unknown[]) => unknown) | undefined>
  // Originals as found (the prototype's, or another middleware's own wrapper).
  const writeHead = target.writeHead!
  const write = target.write!
  const end = target.end!
  const flushHeaders = target.flushHeaders
  // 0: nothing sent yet; 1: holding calls while the commit runs; 2: committed, pass straight through;
  // 3: the commit failed, the error response is being built: pass through until it ends, then drop.
  let phase = 0
  let queue: Array<[Method, unknown[]]> = []

  const original = (name: Method) => (name === 'writeHead' ? writeHead : name === 'write' ? write : name === 'end' ? end : flushHeaders!)

  const start = () => {
    phase = 1
    commit().then(
      (cookie) => {
        phase = 2
        if (cookie !== undefined && !res.headersSent) appendSetCookie(res, cookie)
        const calls = queue
        queue = []
        for (const [name, args] of calls) original(name).apply(res, args)
      },
      (error: unknown) => {
        phase = 3
        queue = []
        // The held response will never be sent: drop what describes it, so the error response that
        // the framework builds next does not inherit its type, length or redirect target.
        if (!res.headersSent) for (const name of ABANDONED_HEADERS) res.removeHeader?.(name)
        onError(error)
      },
    )
  }

  // The wrappers stay installed for the life of the response and are never deleted: deleting an own
  // property that is not the last one added turns the response into a slow dictionary-mode object,
  // which every later property access in Node's HTTP code would pay for.
  const wrap = (name: Method) => (...args: unknown[]) => {
    if (phase === 2) return original(name).apply(res, args)
    if (phase === 3) {
      // The handler may still be writing (a piped stream): once the error response has ended,
      // its late writes are dropped instead of raising "write after end".
      if ((res as { writableEnded?: boolean }).writableEnded === true) return name === 'write' ? false : res
      return original(name).apply(res, args)
    }
    queue.push([name, args])
    if (phase === 0) start()
    return name === 'write' ? true : name === 'flushHeaders' ? undefined : res
  }
  target.writeHead = wrap('writeHead')
  target.write = wrap('write')
  target.end = wrap('end')
  if (typeof flushHeaders === 'function') target.flushHeaders = wrap('flushHeaders')
}
