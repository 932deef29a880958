// Hostile input costs bytes, not only entries (issue 24 item 1, audit part): the `session.rejected`
// coalescing windows keep clipped COPIES of the client's strings, so 2,000 rejected cookies with
// unique 15 KB X-Forwarded-For, User-Agent and path values leave about what short values leave.
// Measured in a child process with --expose-gc against the built dist/ (run `pnpm build` first).
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const fixture = fileURLToPath(new URL('./fixtures/rejected-flood.mjs', import.meta.url))
/** The per-window bound documented in the core README ("Audit events"). */
const DOCUMENTED_BYTES_PER_WINDOW = 2_560

async function flood(count: number, length: number): Promise<{ entries: number; delivered: number; bytesPerEntry: number }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', fixture, String(count), String(length)], { timeout: 60_000 })
  return JSON.parse(stdout)
}

describe('rejected-cookie coalescing holds in bytes', () => {
  it('2,000 rejected cookies from unique 15 KB addresses and user agents keep at most the documented bytes per window', async () => {
    const long = await flood(2_000, 15_000)
    // One window per address: the first rejection of each was delivered, none folded.
    expect(long.delivered).toBe(2_200)
    expect(long.bytesPerEntry).toBeLessThanOrEqual(DOCUMENTED_BYTES_PER_WINDOW)
    // Far from the 30+ KB per window that slices of the headers kept alive.
    expect(long.bytesPerEntry).toBeLessThan(15_000 / 4)
  }, 90_000)
})
