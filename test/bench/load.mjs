// The load generator, in its own process (pinned to the other core than the server).
// Options are JSON: { url, connections, warmupSeconds, seconds, headers }, as argv[2] or, when the
// parent starts this process while the server is still starting (run.mjs does, to overlap the two
// start-ups), as a later message { type: 'options', options }. { type: 'exit' } ends it at any point.
// Runs a warm-up, tells the parent { type: 'warmed' }, waits for { type: 'go' } (the parent marks
// the server's CPU clock in between), runs the measured window and sends { type: 'result', ... }.

import autocannon from 'autocannon'

const send = (message) => process.send?.(message)
const waiting = new Map()
process.on('message', (message) => {
  if (message?.type === 'exit') process.exit(0)
  waiting.get(message?.type)?.(message)
})
process.on('disconnect', () => process.exit(0))
const next = (type) => new Promise((resolve) => waiting.set(type, resolve))
const options = process.argv[2] ? JSON.parse(process.argv[2]) : (await next('options')).options

function run(seconds, onResponse, rate) {
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    duration: seconds,
    headers: options.headers ?? {},
    // Pipelining stays at 1: a browser-like client waits for each response.
    pipelining: 1,
    // Fixed-rate mode (--rate): every row gets the same request rate instead of "as fast as it goes".
    ...(rate ? { overallRate: rate } : {}),
  })
  if (onResponse) instance.on('response', onResponse)
  return instance
}

// autocannon's own histogram keeps whole milliseconds; sub-millisecond rows need finer percentiles,
// so the measured run keeps every response time (float ms) and sorts them once at the end.
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

// The warm-up always runs flat out, so that a fixed-rate window starts as warm (JIT, caches) as the others.
// It runs as two halves, each on its own connections: the first reconnect to a warm server deoptimizes
// much of Node's http and stream code (the sockets of the second set meet optimized code built for the
// first set's maps) and recompiles it: ~54,000 instructions per request over a 4,000-request window
// for Express + sesame (callgrind). From the second set on it does not happen again, so after two sets the measured
// window, on connections of its own, sees the steady state of a long-running server.
if (options.warmupSeconds > 0) {
  await run(options.warmupSeconds / 2)
  await run(options.warmupSeconds / 2)
}
send({ type: 'warmed' })
await next('go')

const startedAt = process.hrtime.bigint()
const cpuAtStart = process.cpuUsage()
const responseTimes = []
const result = await run(options.seconds, (client, statusCode, bytes, responseTimeMs) => { responseTimes.push(responseTimeMs) }, options.rate)
const sorted = Float64Array.from(responseTimes).sort()
const elapsedSeconds = Number(process.hrtime.bigint() - startedAt) / 1e9
const loaderCpu = process.cpuUsage(cpuAtStart)

send({
  type: 'result',
  requests: result.requests.total,
  seconds: result.duration ?? elapsedSeconds,
  rps: result.requests.total / (result.duration || elapsedSeconds),
  latencyP50Ms: percentile(sorted, 50),
  latencyP99Ms: percentile(sorted, 99),
  latencyMeanMs: result.latency.average,
  // Cores the load generator kept busy: near 1 means it, not the server, may have set the pace.
  loaderCores: (loaderCpu.user + loaderCpu.system) / 1e6 / elapsedSeconds,
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
})
process.exit(0)
