#!/usr/bin/env node
// Two rows, both servers running at once, measured in alternating short windows: the A/B for a ratio
// target on a machine whose speed drifts by tens of percent within a minute (README, "Other tools here").
//
//   node test/bench/duel.mjs <row A> <row B> [--case new|cookie] [--pairs 20] [--seconds 1] [--warmup 4] [--connections 10]
//   e.g. node test/bench/duel.mjs express-sesame express-sesame-audit --case new
//
// How it measures: duel-core.mjs (also what `pnpm bench` runs for each ratio target). The medians and
// quartiles of the per-pair ratios are printed, and the raw windows go to test/bench/results/duel-*.json.

import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runDuel } from './duel-core.mjs'
import { pinning } from './procs.mjs'
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

const fmt = (x) => `${x.toFixed(3)}×`

try {
  console.log(`duel: ${rows[0].id} (A) vs ${rows[1].id} (B), ${args.case} case, ${pairs} pairs of ${seconds} s windows after ${args.warmup} s warm-up each, ${connections} connections${pinning ? ', servers on core 0, load on core 1' : ' (unpinned)'}`)
  const { summary, measured } = await runDuel({
    rowA: rows[0],
    rowB: rows[1],
    caseId: args.case,
    pairs,
    seconds,
    warmup: Number(args.warmup),
    connections,
    onPair: (pair, a, b) => console.log(`pair ${String(pair + 1).padStart(2)}  A ${Math.round(a.rps).toString().padStart(6)} req/s ${a.cpuUsPerRequest.toFixed(0).padStart(4)} µs/req   B ${Math.round(b.rps).toString().padStart(6)} req/s ${b.cpuUsPerRequest.toFixed(0).padStart(4)} µs/req   B/A req/s ${fmt(b.rps / a.rps)}`),
  })
  console.log(`B/A req/s, per pair: median ${fmt(summary.rpsRatio.median)} (middle half ${fmt(summary.rpsRatio.q1)}-${fmt(summary.rpsRatio.q3)}, all ${fmt(summary.rpsRatio.min)}-${fmt(summary.rpsRatio.max)})`)
  console.log(`A/B CPU per request, per pair: median ${fmt(summary.cpuRatio.median)} (middle half ${fmt(summary.cpuRatio.q1)}-${fmt(summary.cpuRatio.q3)})`)
  mkdirSync(`${here}results`, { recursive: true })
  const file = `${here}results/duel-${rows[0].id}-${rows[1].id}-${args.case}.json`
  writeFileSync(file, `${JSON.stringify({ a: rows[0].id, b: rows[1].id, case: args.case, pairs, seconds, warmup: Number(args.warmup), connections, pinning, at: new Date().toISOString(), summary, measured }, null, 2)}\n`)
} catch (error) {
  console.error(`duel failed: ${error.message}`)
  process.exitCode = 1
}
