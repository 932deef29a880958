// The scale case, run with --expose-gc: create many sessions and sample the heap after a full GC as
// it goes. sesame's memoryStore({ max }) must level off once it holds `max` sessions; express-session's
// MemoryStore keeps every session until it expires (a day by default) and grows with every creation.
//
// The stores are driven in-process, with the record each library's engine would hand its store for a
// new session holding { n: 1 }: sesame's SessionRecord (data as JSON text per key, deadlines, client
// info) and express-session's session object (with its cookie). That measures what each store keeps,
// without HTTP in the way (1,000,000 HTTP requests would take minutes per store).

import { randomBytes } from 'node:crypto'
import { importSesame, Unavailable } from './rows.mjs'

const { creations, max } = JSON.parse(process.argv[2])
const samples = 25
const sampleEvery = Math.max(1, Math.floor(creations / samples))

function heapAfterGc() {
  // One full (mark-compact) collection: enough for a heap of plain objects with no finalizers, and
  // it keeps the sampling affordable when the peer's heap holds a million sessions.
  globalThis.gc()
  return process.memoryUsage().heapUsed
}

async function drive(label, createOne, size) {
  const baseline = heapAfterGc()
  const points = [{ created: 0, heapBytes: 0 }]
  const startedAt = process.hrtime.bigint()
  let busyNs = 0n
  for (let created = 1; created <= creations; ) {
    const stop = Math.min(creations, created + sampleEvery - 1)
    const t0 = process.hrtime.bigint()
    for (; created <= stop; created++) await createOne(created)
    busyNs += process.hrtime.bigint() - t0
    points.push({ created: stop, heapBytes: heapAfterGc() - baseline, held: size() })
  }
  const wallSeconds = Number(process.hrtime.bigint() - startedAt) / 1e9
  return { label, points, held: size(), usPerCreation: Number(busyNs) / 1000 / creations, wallSeconds }
}

const MINUTE = 60_000
const stores = []

// sesame: memoryStore({ max })
try {
  const { memoryStore } = await importSesame('@sesame/core')
  const store = memoryStore({ max })
  let evictions = 0
  store.subscribe?.((event) => { if (event.type === 'evicted') evictions++ })
  const result = await drive(`sesame memoryStore({ max: ${max.toLocaleString('en')} })`, async () => {
    const now = Date.now()
    const id = randomBytes(16).toString('base64url')
    await store.create(id, {
      data: { n: '1' },
      createdAt: now,
      lastActiveAt: now,
      expiresAt: now + 30 * MINUTE,
      absoluteExpiresAt: now + 12 * 60 * MINUTE,
      ip: '127.0.0.1',
      userAgent: 'autocannon',
    })
  }, () => store.size)
  result.evictions = evictions
  store.close?.()
  stores.push({ id: 'sesame', ...result })
} catch (error) {
  stores.push({ id: 'sesame', label: 'sesame memoryStore', unavailable: error instanceof Unavailable ? error.message : String(error?.message ?? error) })
}

// express-session: its default MemoryStore
{
  const session = (await import('express-session')).default
  const store = new session.MemoryStore()
  const set = (id, value) => new Promise((resolve, reject) => store.set(id, value, (error) => (error ? reject(error) : resolve())))
  const result = await drive("express-session's MemoryStore", async () => {
    const id = randomBytes(24).toString('base64url')
    await set(id, { cookie: { originalMaxAge: null, expires: null, secure: false, httpOnly: true, path: '/' }, n: 1 })
  }, () => Object.keys(store.sessions).length)
  stores.push({ id: 'express-session', ...result })
}

// One line per store for the console; the report draws the curves.
for (const store of stores) {
  if (store.unavailable) {
    store.summary = `n/a (${store.unavailable})`
    continue
  }
  const last = store.points.at(-1)
  // "Flat once full": compare the heap when the store first reached capacity (or a fifth of the
  // way in, for a store without one) with the heap at the end.
  const fullAt = store.points.find((point) => point.created >= Math.max(max, creations / 5))
  store.heapAtFullBytes = fullAt.heapBytes
  store.heapAtEndBytes = last.heapBytes
  store.growthAfterFullBytes = last.heapBytes - fullAt.heapBytes
  store.summary = `holds ${store.held.toLocaleString('en')} sessions, heap +${(last.heapBytes / 2 ** 20).toFixed(1)} MiB at the end (+${(store.growthAfterFullBytes / 2 ** 20).toFixed(1)} MiB after ${fullAt.created.toLocaleString('en')} creations), ${store.usPerCreation.toFixed(2)} µs per creation`
}

process.send?.({ type: 'scale', result: { creations, max, sampleEvery, stores } })
process.on('message', (message) => { if (message?.type === 'exit') process.exit(0) })
