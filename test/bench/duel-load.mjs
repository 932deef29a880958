// The load generator of duel.mjs, in its own process (pinned to the other core than the servers).
// Unlike load.mjs (one warm-up and one window per process), it stays up and runs one window per message:
//   parent -> { type: 'run', url, seconds, connections, headers }   parent <- { type: 'done', requests, rps }
//   parent -> { type: 'exit' }
// Every window opens its own connections, as the bench's windows do.

import autocannon from 'autocannon'

process.on('message', async (message) => {
  if (message?.type === 'exit') process.exit(0)
  if (message?.type !== 'run') return
  const startedAt = process.hrtime.bigint()
  const result = await autocannon({ url: message.url, connections: message.connections, duration: message.seconds, headers: message.headers ?? {}, pipelining: 1 })
  const seconds = result.duration || Number(process.hrtime.bigint() - startedAt) / 1e9
  process.send({ type: 'done', requests: result.requests.total, rps: result.requests.total / seconds, errors: result.errors + result.timeouts, non2xx: result.non2xx })
})
process.on('disconnect', () => process.exit(0))
process.send({ type: 'ready' })
