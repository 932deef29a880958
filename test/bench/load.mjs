// The load generator, in its own process (pinned to the other core than the server).
// argv[2] is JSON: { url, connections, warmupSeconds, seconds, headers }.
// Runs a warm-up, tells the parent { type: 'warmed' }, waits for { type: 'go' } (the parent marks
// the server's CPU clock in between), runs the measured window and sends { type: 'result', ... }.

import autocannon from 'autocannon'

const options = JSON.parse(process.argv[2])
const send = (message) => process.send?.(message)

function run(seconds) {
  return autocannon({
    url: options.url,
    connections: options.connections,
    duration: seconds,
    headers: options.headers ?? {},
    // Pipelining stays at 1: a browser-like client waits for each response.
    pipelining: 1,
  })
}

if (options.warmupSeconds > 0) await run(options.warmupSeconds)
send({ type: 'warmed' })
await new Promise((resolve) => process.once('message', resolve))

const startedAt = process.hrtime.bigint()
const result = await run(options.seconds)
const elapsedSeconds = Number(process.hrtime.bigint() - startedAt) / 1e9

send({
  type: 'result',
  requests: result.requests.total,
  seconds: result.duration ?? elapsedSeconds,
  rps: result.requests.total / (result.duration || elapsedSeconds),
  latencyP50Ms: result.latency.p50,
  latencyP99Ms: result.latency.p99,
  latencyMeanMs: result.latency.average,
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
})
process.exit(0)
