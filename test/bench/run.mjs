#!/usr/bin/env node
// The bench harness: `pnpm bench` (full matrix, several rounds, writes docs/benchmarks.md) and
// `pnpm bench --quick` (one short round, writes test/bench/results/benchmarks-quick.md).
//
// For every row x case x round: start the row's server in a fresh process pinned to core 0, check
// that the route really counts, warm up, mark the server's CPU clock, drive 10 connections from
// autocannon in a process pinned to core 1, read the server's CPU time, stop the server.
// Rounds are interleaved (round 1 of every row, then round 2 ...) so drift on the machine spreads
// over all rows instead of landing on one; within a round, case by case, so the rows a target
// compares run back to back, in an order reversed every other round. After the rounds, one interleaved
// duel per ratio target (duel-core.mjs: both servers up, short windows alternating between them), which
// the report takes as the target's verdict.

import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { basename } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { forkPinned, nextMessage, pinning, sanityCheck, stopChild } from './procs.mjs'
import { ROWS } from './rows.mjs'
import { runDuel } from './duel-core.mjs'
import { collectMachineInfo, duelKey, RATIO_TARGETS, writeReport } from './report.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    'warmup-new': { type: 'string' },
    connections: { type: 'string', default: '10' },
    rate: { type: 'string' },
    'fixed-rate': { type: 'string' },
    rows: { type: 'string' },
    cases: { type: 'string' },
    scale: { type: 'boolean', default: true },
    'no-scale': { type: 'boolean', default: false },
    'scale-creations': { type: 'string' },
    'scale-max': { type: 'string' },
    'no-memory': { type: 'boolean', default: false },
    'memory-counts': { type: 'string' },
    'quiet-wait': { type: 'string' },
    'duel-pairs': { type: 'string' },
    'duel-seconds': { type: 'string' },
    'duel-warmup': { type: 'string' },
    out: { type: 'string' },
    'report-only': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

if (args.help) {
  console.log(`usage: pnpm bench [--quick] [--rounds N] [--seconds S] [--warmup S] [--warmup-new S] [--rows id,id] [--cases cookie,new,fixed] [--rate N] [--fixed-rate N]
                  [--no-scale] [--scale-creations N] [--scale-max N] [--no-memory] [--memory-counts N,N] [--quiet-wait S] [--duel-pairs N] [--duel-seconds S] [--duel-warmup S] [--out file.md] [--report-only]
rows: ${ROWS.map((row) => row.id).join(', ')}`)
  process.exit(0)
}

function rawResultsFile(reportFile) {
  return `${here}results/${basename(reportFile, '.md')}.json`
}

if (args['report-only']) {
  // Re-render the report from the last run's raw results (after editing analysis.md or report.mjs).
  // The raw results of a run are kept under results/ with the report's name: benchmarks.json for the
  // full run behind docs/benchmarks.md, benchmarks-quick.json for quick or partial runs.
  const target = args.out ?? (args.quick || args.rows || args.cases ? `${here}results/benchmarks-quick.md` : `${repoRoot}docs/benchmarks.md`)
  const rawFile = rawResultsFile(target)
  const results = JSON.parse(readFileSync(rawFile, 'utf8'))
  console.log(`wrote ${writeReport(results, target).map((file) => file.replace(repoRoot, '')).join(', ')} from ${rawFile.replace(repoRoot, '')}`)
  process.exit(0)
}

const quick = args.quick
const settings = {
  quick,
  rounds: Number(args.rounds ?? (quick ? 1 : 3)),
  seconds: Number(args.seconds ?? (quick ? 0.8 : 2)),
  warmupSeconds: Number(args.warmup ?? (quick ? 0.4 : 1.5)),
  // The new-session case takes longer to settle: the store fills, every creation starts evicting, the old
  // generation starts churning and the code of that path (eviction, and with the sink its events) gets
  // optimized. Per-second CPU/req of fresh servers (README: "What one measurement is") is still 10-60%
  // above its later level in the second after a 1.5 s warm-up, and level from about 3.5 s on.
  warmupNewSeconds: Number(args['warmup-new'] ?? args.warmup ?? (quick ? 0.8 : 4)),
  connections: Number(args.connections),
  rate: args.rate ? Number(args.rate) : undefined,
  scaleCreations: Number(args['scale-creations'] ?? (quick ? 200_000 : 1_000_000)),
  scaleMax: Number(args['scale-max'] ?? (quick ? 20_000 : 100_000)),
  // Sessions held in each store of the memory case (bytes per session): the default memoryStore max,
  // and ten times that.
  memoryCounts: (args['memory-counts'] ?? (quick ? '10000' : '10000,100000')).split(',').map(Number),
  // Seconds the whole run may spend waiting for other work on the machine to calm down before a
  // measurement (0 disables). Bounded so that a busy machine still gets a run in the time budget.
  quietWaitSeconds: Number(args['quiet-wait'] ?? (quick ? 3 : 15)),
  // The interleaved duel of each ratio target after the rounds (duel-core.mjs): its pairs of windows,
  // each window's length and each server's warm-up. 0 pairs: no duels (the quick run's default).
  duelPairs: Number(args['duel-pairs'] ?? (quick ? 0 : 10)),
  duelSeconds: Number(args['duel-seconds'] ?? 1),
  duelWarmupSeconds: Number(args['duel-warmup'] ?? 4),
}
const FIXED_RATE = Number(args['fixed-rate'] ?? 2000)
const CASES = [
  { id: 'cookie', label: 'existing session (cookie sent, read + write)' },
  { id: 'new', label: 'new session (no cookie, session created)' },
  // CPU per request is not a constant: below saturation every request also pays for waking an idle core
  // and for caches gone cold in between. At one fixed rate every row runs under the same load, closer
  // to a real server (which rarely runs flat out) than the saturated cases.
  { id: 'fixed', label: `existing session at a fixed ${FIXED_RATE.toLocaleString('en')} req/s (equal load for every row)`, cookie: true, rate: FIXED_RATE },
]
const selectedRows = args.rows ? args.rows.split(',').map((id) => id.trim()) : ROWS.map((row) => row.id)
for (const id of selectedRows) if (!ROWS.some((row) => row.id === id)) throw new Error(`unknown row ${id}`)
// The fixed-rate case is part of the full run; quick keeps to the two cases of issue 6.
const selectedCases = args.cases ? args.cases.split(',') : CASES.filter((c) => !(quick && c.rate)).map((c) => c.id)
for (const id of selectedCases) if (!CASES.some((c) => c.id === id)) throw new Error(`unknown case ${id}`)
const CASE_BY_ID = new Map(CASES.map((c) => [c.id, c]))
const partial = Boolean(args.rows || args.cases)
const outFile = args.out ?? (quick || partial ? `${here}results/benchmarks-quick.md` : `${repoRoot}docs/benchmarks.md`)

// ------------------------------------------------------------------ machine load

/**
 * Busy and total jiffies over all CPUs from /proc/stat, to tell how much of the machine something
 * other than this bench used during a measurement (the bench shares its 2 cores with whatever else
 * runs there). Undefined where /proc/stat does not exist.
 */
function machineTicks() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
    const idle = fields[3] + (fields[4] ?? 0)
    const total = fields.reduce((sum, value) => sum + value, 0)
    return { busy: total - idle, total }
  } catch {
    return undefined
  }
}

const QUIET_CORES = 0.25
let quietBudgetMs = settings.quietWaitSeconds * 1000
let quietWaitedMs = 0

/** Other work on the machine, in cores, over the next `ms` (nothing of ours runs meanwhile). */
async function otherLoad(ms) {
  const before = machineTicks()
  await new Promise((resolve) => setTimeout(resolve, ms))
  const after = machineTicks()
  if (!before || !after) return 0
  return ((after.busy - before.busy) / (after.total - before.total)) * os.cpus().length
}

/** Wait (within the run's budget) until less than a quarter core is busy with other work. */
async function waitForQuiet() {
  while (quietBudgetMs > 0) {
    const started = Date.now()
    const load = await otherLoad(300)
    const spent = Date.now() - started
    quietBudgetMs -= spent
    quietWaitedMs += spent
    if (load < QUIET_CORES) return
  }
}

/** Whether a case sends the session cookie back (the existing-session cases). */
function sendsCookie(caseId) {
  return caseId === 'cookie' || CASE_BY_ID.get(caseId)?.cookie === true
}

// ------------------------------------------------------------------ one measurement

async function measure(row, caseId) {
  await waitForQuiet()
  const server = forkPinned(`${here}server.mjs`, [row.id], 0)
  // The load generator starts (imports autocannon) while the server starts; it gets its options later.
  const load = forkPinned(`${here}load.mjs`, [], 1)
  try {
    const hello = await nextMessage(server, ['ready', 'unavailable', 'error'], 30_000, `${row.id} start`)
    if (hello.type === 'unavailable') return { status: 'n/a', reason: hello.reason }
    if (hello.type === 'error') return { status: 'failed', reason: hello.message.split('\n').slice(0, 3).join(' ') }
    let cookie
    try {
      cookie = await sanityCheck(row, hello.port, sendsCookie(caseId))
    } catch (error) {
      return { status: 'failed', reason: `sanity check: ${error.message}` }
    }
    const loadOptions = {
      url: `http://127.0.0.1:${hello.port}/`,
      connections: settings.connections,
      warmupSeconds: caseId === 'new' ? settings.warmupNewSeconds : settings.warmupSeconds,
      seconds: settings.seconds,
      headers: cookie ? { cookie } : {},
      rate: CASE_BY_ID.get(caseId)?.rate ?? settings.rate,
    }
    load.send({ type: 'options', options: loadOptions })
    const budget = (loadOptions.warmupSeconds + settings.seconds) * 1000 + 30_000
    await nextMessage(load, ['warmed'], budget, `${row.id} warm-up`)
    server.send({ type: 'mark' })
    await nextMessage(server, ['marked'], 5000, `${row.id} mark`)
    const ticksBefore = machineTicks()
    load.send({ type: 'go' })
    const result = await nextMessage(load, ['result'], budget, `${row.id} load`)
    server.send({ type: 'stats' })
    const stats = await nextMessage(server, ['stats'], 5000, `${row.id} stats`)
    const ticksAfter = machineTicks()
    const cpuUs = stats.cpuUserUs + stats.cpuSystemUs
    const cores = os.cpus().length
    const machineCores = ticksBefore && ticksAfter ? ((ticksAfter.busy - ticksBefore.busy) / (ticksAfter.total - ticksBefore.total)) * cores : undefined
    return {
      status: 'ok',
      rps: result.rps,
      latencyP50Ms: result.latencyP50Ms,
      latencyP99Ms: result.latencyP99Ms,
      cpuUsPerRequest: stats.requests > 0 ? cpuUs / stats.requests : NaN,
      // Share of the core the server used while loaded: near 100% means the server was the bottleneck.
      serverCoreUse: cpuUs / 1000 / stats.wallMs,
      loaderCores: result.loaderCores,
      // Cores busy with anything other than this server and its load generator (other work on the machine).
      foreignCores: machineCores === undefined ? undefined : Math.max(0, machineCores - cpuUs / 1000 / stats.wallMs - result.loaderCores),
      requests: result.requests,
      serverRequests: stats.requests,
      errors: result.errors + result.timeouts,
      non2xx: result.non2xx,
      rssBytes: stats.rssBytes,
    }
  } catch (error) {
    return { status: 'failed', reason: error.message.slice(0, 400) }
  } finally {
    await Promise.all([stopChild(server), stopChild(load)])
  }
}

// ------------------------------------------------------------------ the scale case

async function runScale() {
  const child = forkPinned(`${here}scale.mjs`, [JSON.stringify({ creations: settings.scaleCreations, max: settings.scaleMax })], 0, ['--expose-gc', '--max-old-space-size=8192'])
  try {
    const message = await nextMessage(child, ['scale'], 600_000, 'scale case')
    return message.result
  } catch (error) {
    return { error: error.message.slice(0, 600) }
  } finally {
    await stopChild(child)
  }
}

// ------------------------------------------------------------------ the memory case (bytes per session)

async function runMemory() {
  const child = forkPinned(`${here}memory.mjs`, [JSON.stringify({ counts: settings.memoryCounts })], 0, ['--expose-gc', '--max-old-space-size=4096'])
  try {
    const message = await nextMessage(child, ['memory'], 600_000, 'memory case')
    return message.result
  } catch (error) {
    return { error: error.message.slice(0, 600) }
  } finally {
    await stopChild(child)
  }
}

// ------------------------------------------------------------------ main

const startedAt = Date.now()
const rows = ROWS.filter((row) => selectedRows.includes(row.id))
// The order rows are measured in: the report's, except that a row with `measureBefore` runs right before
// that row, so that the two rows of a ratio target run back to back (seconds apart, not a minute).
const measureOrder = rows.filter((row) => !row.measureBefore || !rows.some((other) => other.id === row.measureBefore))
for (const row of rows) {
  if (row.measureBefore && measureOrder.indexOf(row) === -1) measureOrder.splice(measureOrder.findIndex((other) => other.id === row.measureBefore), 0, row)
}
const measurements = {} // rowId -> caseId -> [round results]
console.log(`sesame bench: ${rows.length} rows x ${selectedCases.length} cases x ${settings.rounds} round(s), ${settings.seconds}s each after ${settings.warmupSeconds}s warm-up (new session: ${settings.warmupNewSeconds}s), ${settings.connections} connections${pinning ? ', server on core 0, load on core 1' : ''}`)

const unavailable = new Map() // a row that is n/a once is n/a for the whole run
for (let round = 1; round <= settings.rounds; round++) {
  // Case by case, every row in turn, the order of the rows reversed every other round: the rows a
  // ratio compares run seconds apart (this VM's speed drifts by tens of percent over a minute), and
  // a steady drift favours no row over a pair of rounds.
  const order = round % 2 === 1 ? measureOrder : [...measureOrder].reverse()
  for (const caseId of selectedCases) {
    for (const row of order) {
      let outcome
      if (unavailable.has(row.id)) outcome = unavailable.get(row.id)
      else {
        outcome = await measure(row, caseId)
        if (outcome.status === 'n/a') unavailable.set(row.id, outcome)
      }
      ;((measurements[row.id] ??= {})[caseId] ??= []).push(outcome)
      const line = outcome.status === 'ok'
        ? `${Math.round(outcome.rps).toString().padStart(6)} req/s  p50 ${outcome.latencyP50Ms.toFixed(2)} ms  p99 ${outcome.latencyP99Ms.toFixed(2)} ms  ${outcome.cpuUsPerRequest.toFixed(0).padStart(5)} µs CPU/req  server ${(outcome.serverCoreUse * 100).toFixed(0)}% load ${(outcome.loaderCores * 100).toFixed(0)}% other ${outcome.foreignCores === undefined ? '?' : (outcome.foreignCores * 100).toFixed(0)}%${outcome.errors || outcome.non2xx ? `  (${outcome.errors} errors, ${outcome.non2xx} non-2xx)` : ''}`
        : `${outcome.status}: ${outcome.reason}`
      console.log(`[round ${round}/${settings.rounds}] ${row.id.padEnd(28)} ${caseId.padEnd(6)} ${line}`)
    }
  }
}

// The interleaved duel of every ratio target whose two rows were measured: the verdicts (report.mjs).
let duels
const duelTargets = settings.duelPairs > 0
  ? RATIO_TARGETS.filter(({ rowId, peerId, caseId }) => selectedCases.includes(caseId) && [rowId, peerId].every((id) => measurements[id]?.[caseId]?.some((outcome) => outcome.status === 'ok')))
  : []
if (duelTargets.length) {
  duels = {}
  console.log(`interleaved duels: ${duelTargets.length} ratio targets, ${settings.duelPairs} pairs of ${settings.duelSeconds} s windows after ${settings.duelWarmupSeconds} s warm-up per server`)
  for (const spec of duelTargets) {
    const key = duelKey(spec)
    await waitForQuiet()
    try {
      const { summary, measured } = await runDuel({
        rowA: ROWS.find((row) => row.id === spec.peerId),
        rowB: ROWS.find((row) => row.id === spec.rowId),
        caseId: spec.caseId,
        pairs: settings.duelPairs,
        seconds: settings.duelSeconds,
        warmup: settings.duelWarmupSeconds,
        connections: settings.connections,
      })
      duels[key] = { pairs: settings.duelPairs, seconds: settings.duelSeconds, summary, measured }
      const { cpuRatio, rpsRatio } = summary
      console.log(`[duel] ${key.padEnd(56)} ${spec.rowId} ÷ ${spec.peerId}: ${cpuRatio.median.toFixed(2)}× on CPU/req (middle half ${cpuRatio.q1.toFixed(2)}-${cpuRatio.q3.toFixed(2)}), ${rpsRatio.median.toFixed(2)}× on req/s`)
    } catch (error) {
      duels[key] = { error: error.message.slice(0, 300) }
      console.log(`[duel] ${key}: failed: ${duels[key].error}`)
    }
  }
}

let scale
if (args.scale && !args['no-scale']) {
  console.log(`scale case: ${settings.scaleCreations.toLocaleString('en')} creations, memoryStore({ max: ${settings.scaleMax.toLocaleString('en')} }) vs express-session MemoryStore`)
  scale = await runScale()
  if (scale.error) console.log(`scale case failed: ${scale.error}`)
  else for (const store of scale.stores) console.log(`  ${store.label.padEnd(40)} ${store.summary}`)
}

let memory
if (!args['no-memory']) {
  console.log(`memory case: bytes per session at ${settings.memoryCounts.map((count) => count.toLocaleString('en')).join(' and ')} sessions held, every store row`)
  memory = await runMemory()
  if (memory.error) console.log(`memory case failed: ${memory.error}`)
  else for (const store of memory.stores) console.log(`  ${store.label.padEnd(44)} ${store.count.toLocaleString('en').padStart(7)} ${store.unavailable ? `n/a (${store.unavailable})` : `${Math.round(store.bytesPerSession)} B heap + ${Math.round(store.offHeapBytesPerSession)} B off-heap per session${store.redisBytesPerSession !== undefined ? `, Redis ${Math.round(store.redisBytesPerSession)} B` : ''}`}`)
}

// ------------------------------------------------------------------ the audit sink on its own
// Events per second @sesame/audit-log's fileSink sustains end to end (write -> encrypt -> append ->
// close), from the package's own throughput script, pinned like a server; median of the rounds.
let auditSink
{
  const script = `${repoRoot}packages/audit-log/bench/throughput.mjs`
  const events = String(quick ? 50_000 : 200_000)
  const runs = []
  for (let round = 0; round < (quick ? 1 : 3); round++) {
    const command = pinning ? ['taskset', ['-c', '0', process.execPath, script, events]] : [process.execPath, [script, events]]
    const child = spawnSync(command[0], command[1], { encoding: 'utf8', timeout: 300_000 })
    try {
      runs.push(JSON.parse(child.stdout.trim().split('\n').at(-1)))
    } catch {
      auditSink = { error: (child.stderr || child.stdout || 'no output').trim().split('\n').at(-1) }
      break
    }
  }
  if (!auditSink && runs.length) {
    const sorted = [...runs].sort((a, b) => a.eventsPerSec - b.eventsPerSec)
    const median = sorted[Math.floor(sorted.length / 2)]
    auditSink = { events: Number(events), rounds: runs.length, eventsPerSec: median.eventsPerSec, eventsPerCpuSec: median.eventsPerCpuSec, dropped: runs.reduce((sum, run) => sum + (run.dropped ?? 0), 0), verified: runs.every((run) => run.verified !== false), all: runs.map((run) => Math.round(run.eventsPerSec)) }
    console.log(`audit fileSink: ${Math.round(auditSink.eventsPerSec).toLocaleString('en')} events/s (rounds: ${auditSink.all.join(', ')}), dropped ${auditSink.dropped}`)
  } else if (auditSink?.error) console.log(`audit fileSink throughput failed: ${auditSink.error}`)
}

const results = {
  settings,
  auditSink,
  pinning,
  partial,
  cases: CASES.filter((c) => selectedCases.includes(c.id)),
  rows: rows.map(({ id, group, label, kind, bare, peers, redis }) => ({ id, group, label, kind, bare, peers, redis })),
  measurements,
  duels,
  scale,
  memory,
  machine: collectMachineInfo(),
  startedAt: new Date(startedAt).toISOString(),
  durationSeconds: (Date.now() - startedAt) / 1000,
  quietWaitedSeconds: quietWaitedMs / 1000,
  command: `pnpm bench${process.argv.slice(2).filter((arg) => arg !== '--').length ? ` ${process.argv.slice(2).filter((arg) => arg !== '--').join(' ')}` : ''}`,
}
mkdirSync(`${here}results`, { recursive: true })
const rawFile = rawResultsFile(outFile)
writeFileSync(rawFile, `${JSON.stringify(results, null, 2)}\n`)
const written = writeReport(results, outFile)
console.log(`done in ${Math.round(results.durationSeconds)} s; wrote ${[...written, rawFile].map((file) => file.replace(repoRoot, '')).join(', ')}`)
