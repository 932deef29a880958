// The memory store stays bounded and cleans up after itself, whatever the load.
import { describe, expect, it } from 'vitest'
import { createEngine, memoryStore, type AuditEvent, type SessionRecord } from '@sesame/core'

function record(now: number, ttlMs: number, userId?: string): SessionRecord {
  return { data: { n: '1' }, userId, createdAt: now, lastActiveAt: now, expiresAt: now + ttlMs, absoluteExpiresAt: now + ttlMs }
}

describe('memoryStore', () => {
  it('100,000 sessions into max 1,000: holds at most 1,000 and reports 99,000 evictions', async () => {
    const store = memoryStore({ max: 1000 })
    const evicted: AuditEvent[] = []
    const engine = createEngine({ secret: 'memory-store-test-secret-0123456789', store, audit: { hooks: [(event) => void (event.type === 'session.evicted' && evicted.push(event))] } })
    const now = Date.now()
    let maxSize = 0
    for (let i = 0; i < 100_000; i++) {
      expect(store.create(`session-${i.toString().padStart(22, '0')}`, record(now, 3_600_000))).toBe(true)
      if (store.size > maxSize) maxSize = store.size
    }
    expect(maxSize).toBe(1000)
    expect(store.size).toBe(1000)
    expect(evicted).toHaveLength(99_000)
    expect(evicted.every((event) => event.reason === 'capacity')).toBe(true)
    // The newest thousand are the ones kept.
    expect(store.get(`session-${'99999'.padStart(22, '0')}`)).toBeDefined()
    expect(store.get(`session-${'0'.padStart(22, '0')}`)).toBeUndefined()
    await engine.close()
    store.close()
  })

  it('expired entries leave without waiting for a read (the sweep), reported as expired', async () => {
    const store = memoryStore({ sweepInterval: 20 })
    const expired: string[] = []
    store.subscribe((event) => void (event.type === 'expired' && expired.push(event.id)))
    const now = Date.now()
    store.create('short-lived-session-id-0001', record(now, 50))
    store.create('long-lived-session-id-00002', record(now, 60_000))
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(store.size).toBe(1)
    expect(expired).toEqual(['short-lived-session-id-0001'])
    store.close()
  })

  it('a touch never moves the deadline past the absolute one', () => {
    const store = memoryStore()
    const now = Date.now()
    store.create('touched-session-id-00000001', { ...record(now, 1000), absoluteExpiresAt: now + 2000 })
    expect(store.touch('touched-session-id-00000001', now, now + 10_000)).toBe(true)
    expect(store.get('touched-session-id-00000001')!.expiresAt).toBe(now + 2000)
    expect(store.touch('missing-session-id-0000001', now, now + 10)).toBe(false)
    store.close()
  })

  it('the sweep timer never keeps the process alive', async () => {
    const { spawnSync } = await import('node:child_process')
    const { builtEntry } = await import('../../../test/support/built.js')
    const core = builtEntry('core')
    // A process that creates a store (and an engine with its default store) and does nothing else must exit by itself.
    const script = `const { memoryStore, createEngine } = await import(${JSON.stringify(core)}); memoryStore({ sweepInterval: 10 }); createEngine({ secret: 'x'.repeat(32) }); console.log('created')`
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000, encoding: 'utf8' })
    expect(child.stdout.trim()).toBe('created')
    expect(child.signal).toBeNull()
    expect(child.status).toBe(0)
  })
})
