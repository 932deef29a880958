// Events per second that fileSink sustains, end to end: write() -> encrypt -> append -> close().
// Runs against the built package (pnpm build first). Prints one JSON object on stdout.
//   node packages/audit-log/bench/throughput.mjs [events=200000] [--burst=1000] [--overflow=drop|block]
// The producer writes `burst` events, then yields to the event loop, as a busy server would between
// requests; the sink drains in between. `dropped` must be 0 for the figure to count.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileSink, verifyAuditLog } from '../dist/index.js'

const args = process.argv.slice(2)
const flag = (name, fallback) => args.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1] ?? fallback
const events = Number(args.find((arg) => /^\d+$/.test(arg)) ?? 200_000)
const burst = Number(flag('burst', 1000))
const overflow = flag('overflow', 'drop')
const verify = flag('verify', 'true') !== 'false'

const dir = mkdtempSync(join(tmpdir(), 'sesame-audit-bench-'))
const path = join(dir, 'audit.log')
const key = Buffer.alloc(32, 1).toString('base64url')
try {
  const sink = fileSink({ path, key, overflow, maxFileBytes: 0 })
  // A typical event as core emits it: a login with the client's facts.
  const base = {
    type: 'session.login',
    sessionRef: 'q0Ri1lZHCbKhcHqkxZ0AWw',
    userId: 'user-12345',
    ip: '203.0.113.7',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
    method: 'POST',
  }
  const started = performance.now()
  const cpuBefore = process.cpuUsage()
  let maxWriteCallMs = 0
  for (let i = 0; i < events; i++) {
    const before = i % 997 === 0 ? performance.now() : 0
    sink.write({ ...base, at: new Date().toISOString(), path: `/login/${i}` })
    if (before) maxWriteCallMs = Math.max(maxWriteCallMs, performance.now() - before)
    if (i % burst === burst - 1) await new Promise((resolve) => setImmediate(resolve))
  }
  await sink.close()
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const cpuSeconds = (cpu.user + cpu.system) / 1e6
  const stats = sink.stats()
  const bytes = statSync(path).size
  const result = {
    eventsPerSec: Math.round(events / seconds),
    events,
    seconds: Number(seconds.toFixed(3)),
    // CPU time of this process (producer + sink, all threads): steadier than wall time on a busy machine.
    cpuSeconds: Number(cpuSeconds.toFixed(3)),
    eventsPerCpuSec: Math.round(events / cpuSeconds),
    dropped: stats.dropped,
    bytes,
    bytesPerEvent: Math.round(bytes / events),
    maxWriteCallMs: Number(maxWriteCallMs.toFixed(3)),
    burst,
    overflow,
    node: process.version,
  }
  if (verify) {
    const verifyStarted = performance.now()
    const verified = await verifyAuditLog(path, { key })
    result.verified = verified.ok
    result.verifyLinesPerSec = Math.round(verified.lines / ((performance.now() - verifyStarted) / 1000))
  }
  console.log(JSON.stringify(result))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
