// One row's server, in its own process (the harness starts it pinned to one core).
// It measures its own CPU time so the harness can charge CPU per request to the server alone:
//   parent -> { type: 'mark' }   start of the measured window (after warm-up)
//   parent -> { type: 'stats' }  CPU time and requests served since the mark
//   parent -> { type: 'exit' }   close the row (delete its Redis keys etc.) and exit
// The stats travel over the IPC channel, so no extra route shares the load.

import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROW_BY_ID, Unavailable } from './rows.mjs'

const rowId = process.argv[2]
const row = ROW_BY_ID.get(rowId)
const send = (message) => process.send?.(message)

if (!row) {
  send({ type: 'error', message: `unknown row ${rowId}` })
  process.exit(2)
}

const tmpDir = mkdtempSync(join(tmpdir(), `sesame-bench-${rowId}-`))
let built
try {
  built = await row.build({ tmpDir })
} catch (error) {
  rmSync(tmpDir, { recursive: true, force: true })
  if (error instanceof Unavailable) send({ type: 'unavailable', reason: error.message })
  else send({ type: 'error', message: String(error?.stack ?? error) })
  process.exit(0)
}

let requests = 0
const server = http.createServer(built.handler)
server.on('request', () => { requests++ })
server.keepAliveTimeout = 30_000

let mark
process.on('message', async (message) => {
  if (message?.type === 'mark') {
    mark = { cpu: process.cpuUsage(), at: process.hrtime.bigint(), requests }
    send({ type: 'marked' })
  } else if (message?.type === 'stats') {
    const cpu = process.cpuUsage(mark.cpu)
    const memory = process.memoryUsage()
    send({
      type: 'stats',
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      requests: requests - mark.requests,
      wallMs: Number(process.hrtime.bigint() - mark.at) / 1e6,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
    })
  } else if (message?.type === 'exit') {
    server.closeAllConnections?.()
    server.close()
    try {
      await built.close?.()
    } catch {
      // Cleanup failures must not hide the measurement; the next run deletes its keys first.
    }
    rmSync(tmpDir, { recursive: true, force: true })
    process.exit(0)
  }
})
process.on('disconnect', () => process.exit(0))

server.listen(0, '127.0.0.1', () => send({ type: 'ready', port: server.address().port }))
