// Synchronous when it can be, asynchronous when it must be.
//
// With the memory store every store call answers at once, yet an `async` function still allocates
// promises and resumes through the microtask queue at every `await` (measured on Express: one extra
// promise hop per request costs about as many instructions as the whole engine load + commit).
// So the engine's load and commit are written as generators that `yield` each value that may be a
// promise, and `drive` runs them: it hands a plain value straight back, and only when a yielded
// value is a thenable (Redis, a custom async store, iron-webcrypto) does the rest continue
// asynchronously. The result is a plain value or a Promise; callers that can wait either way
// `await` it, the hot path checks isThenable() and carries on synchronously.

export type MaybePromise<T> = T | Promise<T>

/** The steps of an operation: yields values that may be promises, gets their settled values back. */
export type Steps<T> = Generator<unknown, T, unknown>

export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function'
}

/**
 * Run `steps` to completion: synchronously while every yielded value is plain (an exception then
 * propagates synchronously too), else as a Promise from the first thenable on.
 */
export function drive<T>(steps: Steps<T>): MaybePromise<T> {
  let step = steps.next()
  while (!step.done) {
    const value = step.value
    if (isThenable(value)) return finish(steps, value)
    step = steps.next(value)
  }
  return step.value
}

async function finish<T>(steps: Steps<T>, pending: PromiseLike<unknown>): Promise<T> {
  for (;;) {
    let step: IteratorResult<unknown, T>
    let settled: unknown
    let failed = false
    try {
      settled = await pending
    } catch (error) {
      settled = error
      failed = true
    }
    // A rejection is thrown into the generator at its yield, as `await` would throw it.
    step = failed ? steps.throw(settled) : steps.next(settled)
    while (!step.done && !isThenable(step.value)) step = steps.next(step.value)
    if (step.done) return step.value
    pending = step.value as PromiseLike<unknown>
  }
}
