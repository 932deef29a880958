// express-session and koa-session methods take a callback `cb(err)`; sesame's return promises.
// Every session method takes either: given a function as its last argument it calls it once, with
// the error or nothing, and returns the session (as express-session does); otherwise it returns the
// promise. A callback that itself throws must not become an unhandled rejection that kills the
// process: it is reported on console.error (its message is the app's own, sesame adds nothing).

export type NodeCallback = (error?: unknown) => void

export function isCallback(value: unknown): value is NodeCallback {
  return typeof value === 'function'
}

/** `promise` settles `callback` (then returns `self`), or is returned as it is when there is no callback. */
export function settle<T>(promise: Promise<void>, callback: NodeCallback | undefined, self: T): Promise<void> | T {
  if (callback === undefined) return promise
  promise.then(
    () => callback(),
    (error: unknown) => callback(error ?? new Error('sesame: session operation failed')),
  ).catch((error: unknown) => {
    console.error('sesame: a session callback threw:', error)
  })
  return self
}
