// Issue 24 item 1: hostile input costs bytes, not only entries. A clipped client field kept by the
// engine (a session record's ip / userAgent, the rejectLimit key, an audit coalescing window) must be a
// copy: a slice() of a 15 KB header keeps all of it alive. Measured in a child process (--expose-gc)
// on the built engine behind a real HTTP server: heap growth after GC per kept entry, against the
// bound the core README documents ("Memory per session").
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { builtEntry } from '../../../test/support/built.js'

/** The README's bounds: a session with 15 KB client headers, and a tracked client address. */
const MAX_BYTES_PER_SESSION = 4 * 1024
const MAX_BYTES_PER_ADDRESS = 2 * 1024

describe('memory kept per entry from hostile client headers', () => {
  it('2,000 sessions and 2,000 rejected cookies with 15 KB User-Agent / X-Forwarded-For grow the heap by the documented bound per entry, not 15 KB', () => {
    const fixture = fileURLToPath(new URL('./fixtures/client-field-heap.mjs', import.meta.url))
    const child = spawnSync(process.execPath, ['--expose-gc', fixture, builtEntry('core')], { encoding: 'utf8', timeout: 60_000 })
    expect(child.stderr).toBe('')
    const result = JSON.parse(child.stdout) as { sessions: number; perSession: number; perRejectedAddress: number }
    expect(result.sessions).toBe(2_200)
    expect(result.perSession).toBeLessThan(MAX_BYTES_PER_SESSION)
    expect(result.perRejectedAddress).toBeLessThan(MAX_BYTES_PER_ADDRESS)
  }, 90_000)
})
