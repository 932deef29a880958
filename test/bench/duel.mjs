#!/usr/bin/env node
// Two rows, both servers running at once, measured in alternating short windows: the A/B for a ratio
// target on a machine whose speed drifts by tens of percent within a minute (README, "Other tools here").
//
//   node test/bench/duel.mjs <row A> <row B> [--case new|cookie] [--pairs 20] [--seconds 1] [--warmup 4] [--connections 10]
//   e.g. node test/bench/duel.mjs express-sesame express-sesame-audit --case new
//
// Both servers are pinned to core 0 (only the one under load is busy), the load generator to core 1.
// After each server's warm-up (two halves on two sets of connections, as in run.mjs), every pair is one
// window on A and one on B, back to back, in the order A B, B A, A B ... so that a steady drift favours
// neither. Each pair gives B's req/s over A's and A's server CPU per request over B's; the medians and
// quartiles of those per-pair ratios are printed, and the raw windows go to test/bench/results/duel-*.json.

import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { forkPinned, nextMessage, pinning, sanityCheck, stopChild } from './procs.mjs'
import { ROW_BY_ID } from './rows.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const { values: args, positionals } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  allowPositionals: true,
  options: {
    case: { type: 'string', default: 'new' },
    pairs: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '4' },
    connections: { type: 'string', default: '10' },
  },
})
const rows = positionals.map((id) => ROW_BY_ID.get(id))
if (positionals.length !== 2 || rows.includes(undefined) || !['new', 'cookie'].includes(args.case)) {
  console.error(`usage: node test/bench/duel.mjs <row A> <row B> [--case new|cookie] [--pairs N] [--seconds S] [--warmup S] [--connections N]\nrows: ${[...ROW_BY_ID.keys()].join(', ')}`)
  process.exit(2)
}
const pairs = Number(args.pairs)
const seconds = Number(args.seconds)
const connections = Number(args.connections)

const load = forkPinned(`${here}duel-load.mjs`, [], 1)
const servers = rows.map((row) => ({ row, child: forkPinned(`${here}server.mjs`, [row.id], 0) }))

/** One window of load on one server: its req/s and its CPU time per request. */
async function window(server, windowSeconds) {
  server.child.send({ type: 'mark' })
  await nextMessage(server.child, ['marked'], 5000, `${server.row.id} mark`)
  load.send({ type: 'run', url: server.url, seconds: windowSeconds, connections, headers: server.cookie ? { cookie: server.cookie } : {} })
  const done = await nextMessage(load, ['done'], windowSeconds * 1000 + 30_000, `${server.row.id} load`)
  server.child.send({ type: 'stats' })
  const stats = await nextMessage(server.child, ['stats'], 5000, `${server.row.id} stats`)
  if (done.errors || done.non2xx) throw new Error(`${server.row.id}: ${done.errors} errors, ${done.non2xx} non-2xx answers`)
  return { rps: done.rps, cpuUsPerRequest: (stats.cpuUserUs + stats.cpuSystemUs) / stats.requests }
}

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  return sorted[Math.floor(at)] + (sorted[Math.ceil(at)] - sorted[Math.floor(at)]) * (at - Math.floor(at))
}
const fmt = (x) => `${x.toFixed(3)}×`

try {
  await nextMessage(load, ['ready'], 30_000, 'load generator start')
  for (const server of servers) {
    const hello = await nextMessage(server.child, ['ready', 'unavailable', 'error'], 30_000, `${server.row.id} start`)
    if (hello.type !== 'ready') throw new Error(`${server.row.id}: ${hello.reason ?? hello.message}`)
    server.url = `http://127.0.0.1:${hello.port}/`
    server.cookie = await sanityCheck(server.row, hello.port, args.case === 'cookie')
  }
  console.log(`duel: ${rows[0].id} (A) vs ${rows[1].id} (B), ${args.case} case, ${pairs} pairs of ${seconds} s windows after ${args.warmup} s warm-up each, ${connections} connections${pinning ? ', servers on core 0, load on core 1' : ' (unpinned)'}`)
  for (const server of servers) {
    await window(server, Number(args.warmup) / 2)
    await window(server, Number(args.warmup) / 2)
  }
  const measured = []
  for (let pair = 0; pair < pairs; pair++) {
    const [first, second] = pair % 2 === 0 ? [0, 1] : [1, 0]
    const result = []
    result[first] = await window(servers[first], seconds)
    result[second] = await window(servers[second], seconds)
    const [a, b] = result
    measured.push({ a, b, rpsRatio: b.rps / a.rps, cpuRatio: a.cpuUsPerRequest / b.cpuUsPerRequest })
    console.log(`pair ${String(pair + 1).padStart(2)}  A ${Math.round(a.rps).toString().padStart(6)} req/s ${a.cpuUsPerRequest.toFixed(0).padStart(4)} µs/req   B ${Math.round(b.rps).toString().padStart(6)} req/s ${b.cpuUsPerRequest.toFixed(0).padStart(4)} µs/req   B/A req/s ${fmt(b.rps / a.rps)}`)
  }
  const summary = {}
  for (const key of ['rpsRatio', 'cpuRatio']) {
    const values = measured.map((m) => m[key])
    summary[key] = { median: quantile(values, 0.5), q1: quantile(values, 0.25), q3: quantile(values, 0.75), min: Math.min(...values), max: Math.max(...values) }
  }
  console.log(`B/A req/s, per pair: median ${fmt(summary.rpsRatio.median)} (middle half ${fmt(summary.rpsRatio.q1)}-${fmt(summary.rpsRatio.q3)}, all ${fmt(summary.rpsRatio.min)}-${fmt(summary.rpsRatio.max)})`)
  console.log(`A/B CPU per request, per pair: median ${fmt(summary.cpuRatio.median)} (middle half ${fmt(summary.cpuRatio.q1)}-${fmt(summary.cpuRatio.q3)})`)
  mkdirSync(`${here}results`, { recursive: true })
  const file = `${here}results/duel-${rows[0].id}-${rows[1].id}-${args.case}.json`
  writeFileSync(file, `${JSON.stringify({ a: rows[0].id, b: rows[1].id, case: args.case, pairs, seconds, warmup: Number(args.warmup), connections, pinning, at: new Date().toISOString(), summary, measured }, null, 2)}\n`)
} catch (error) {
  console.error(`duel failed: ${error.message}`)
  process.exitCode = 1
} finally {
  await Promise.all([...servers.map((server) => stopChild(server.child)), stopChild(load)])
}
