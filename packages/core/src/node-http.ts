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

function guardLateWrites(res: HoldableResponse, target: Record<Method, ((...args: unknown[]) => unknown) | undefined>): void {
  const write = target.write!
  const end = target.end!
  const finished = () => (res as { writableEnded?: boolean }).writableEnded === true
  ;(target as Record<string, unknown>).write = (...args: unknown[]) => (finished() ? false : write.apply(res, args))
  ;(target as Record<string, unknown>).end = (...args: unknown[]) => (finished() ? res : end.apply(res, args))
}
const METHODS: readonly Method[] = ['writeHead', 'write', 'end', 'flushHeaders']

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
  const own = new Map<Method, unknown>()
  for (const name of METHODS) if (Object.hasOwn(res, name)) own.set(name, target[name])
  let queue: Array<[Method, unknown[]]> | undefined

  const restore = () => {
    for (const name of METHODS) {
      if (own.has(name)) (target as Record<string, unknown>)[name] = own.get(name)
      else delete (target as Record<string, unknown>)[name]
    }
  }

  const start = () => {
    commit().then(
      (cookie) => {
        restore()
        if (cookie !== undefined && !res.headersSent) appendSetCookie(res, cookie)
        const calls = queue!
        queue = undefined
        for (const [name, args] of calls) target[name]!.apply(res, args)
      },
      (error: unknown) => {
        restore()
        queue = undefined
        // The held response will never be sent: drop what describes it, so the error response that
        // the framework builds next does not inherit its type, length or redirect target.
        if (!res.headersSent) for (const name of ABANDONED_HEADERS) res.removeHeader?.(name)
        // The handler may still be writing (a piped stream): once the error response has ended,
        // its late writes are dropped instead of raising "write after end".
        guardLateWrites(res, target)
        onError(error)
      },
    )
  }

  for (const name of METHODS) {
    if (typeof target[name] !== 'function') continue
    ;(target as Record<string, unknown>)[name] = (...args: unknown[]) => {
      if (queue) queue.push([name, args])
      else {
        queue = [[name, args]]
        start()
      }
      return name === 'write' ? true : name === 'flushHeaders' ? undefined : res
    }
  }
}
