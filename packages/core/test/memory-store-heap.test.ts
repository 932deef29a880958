// Issue 23: a memoryStore at capacity holds its heap flat however many sessions are created, and a
// small session costs a bounded number of bytes. Measured in a child process (--expose-gc) on the built
// store: 1,000,000 creations against max 100,000, the heap after a full GC every 100,000.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { builtEntry } from '../../../test/support/built.js'

/** The core README's figure for a small session in the store alone ("Memory per session"), with headroom. */
const MAX_BYTES_PER_SESSION = 500

describe('memoryStore heap at capacity', () => {
  it('1,000,000 sessions against max 100,000: 100,000 held, 900,000 evicted, the heap flat from the moment it is full', () => {
    const fixture = fileURLToPath(new URL('./fixtures/memory-store-heap.mjs', import.meta.url))
    const child = spawnSync(process.execPath, ['--expose-gc', fixture, builtEntry('core')], { encoding: 'utf8', timeout: 120_000 })
    expect(child.stderr).toBe('')
    const { held, evicted, samples } = JSON.parse(child.stdout) as { held: number; evicted: number; samples: Array<{ created: number; heapBytes: number }> }
    expect(held).toBe(100_000)
    expect(evicted).toBe(900_000)
    // The first 100,000 evictions settle the store's Map (deleted entries leave room to be reclaimed
    // by rehashing): ~11% more heap than at the moment it filled, measured. From then on it is flat.
    const evicting = samples[1]!.heapBytes
    for (const sample of samples) expect(sample.heapBytes / held).toBeLessThan(MAX_BYTES_PER_SESSION)
    for (const sample of samples.slice(2)) expect(Math.abs(sample.heapBytes - evicting)).toBeLessThan(0.05 * evicting)
  }, 150_000)
})
