// drive(): the engine's load and commit stay synchronous with a synchronous store and behave like
// async functions as soon as something has to wait.
import { describe, expect, it } from 'vitest'
import { drive, type Steps } from '../src/maybe.js'

function* add(a: unknown, b: unknown): Steps<number> {
  const x = (yield a) as number
  const y = (yield b) as number
  return x + y
}

describe('drive', () => {
  it('returns a plain value when nothing yielded is a promise', () => {
    expect(drive(add(1, 2))).toBe(3)
  })

  it('returns a promise from the first thenable on, and resumes with its value', async () => {
    const result = drive(add(1, Promise.resolve(2)))
    expect(result).toBeInstanceOf(Promise)
    expect(await result).toBe(3)
  })

  it('throws synchronously when a step throws before anything waited', () => {
    function* fails(): Steps<number> {
      yield 1
      throw new TypeError('bad input')
    }
    expect(() => drive(fails())).toThrow(TypeError)
  })

  it('throws a rejection into the steps at their yield, where try/catch sees it', async () => {
    function* recovers(): Steps<string> {
      try {
        yield Promise.reject(new Error('store down'))
        return 'not reached'
      } catch (error) {
        return `caught ${(error as Error).message}`
      }
    }
    expect(await drive(recovers())).toBe('caught store down')
    function* rethrows(): Steps<number> {
      yield Promise.reject(new Error('store down'))
      return 1
    }
    await expect(drive(rethrows())).rejects.toThrow('store down')
  })
})
