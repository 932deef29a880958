// The interleaved A/B of two rows (duel.mjs on the command line; run.mjs's "interleaved pairs" for the
// ratio targets). Both servers run at once, pinned to core 0 (only the one under load is busy), the
// load generator on core 1. After each server's warm-up (two halves on two sets of connections, as in
// run.mjs), every pair is one window on A and one on B, back to back, in the order A B, B A, A B ... so
// that a steady drift favours neither. Each pair gives B's req/s over A's and A's server CPU per request
// over B's: the machine's speed at that moment divides out of each pair's ratio, which a row-by-row
// measurement seconds apart cannot promise on a VM whose speed moves by tens of percent within seconds.

import { fileURLToPath } from 'node:url'
import { forkPinned, nextMessage, sanityCheck, stopChild } from './procs.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))

export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  return sorted[Math.floor(at)] + (sorted[Math.ceil(at)] - sorted[Math.floor(at)]) * (at - Math.floor(at))
}

function spread(values) {
  return { median: quantile(values, 0.5), q1: quantile(values, 0.25), q3: quantile(values, 0.75), min: Math.min(...values), max: Math.max(...values) }
}

/**
 * Run one duel. `rowA`, `rowB`: rows from rows.mjs. Returns { summary: { rpsRatio, cpuRatio }, measured },
 * each ratio with median, quartiles and extremes over the pairs; throws when a server fails to start,
 * fails its sanity check, or answers with errors. `onPair(pair, a, b)` is called after every pair.
 */
export async function runDuel({ rowA, rowB, caseId, pairs, seconds, warmup, connections, onPair = () => {} }) {
  const load = forkPinned(`${here}duel-load.mjs`, [], 1)
  const servers = [rowA, rowB].map((row) => ({ row, child: forkPinned(`${here}server.mjs`, [row.id], 0) }))

  /** One window of load on one server: its req/s and its CPU time per request. */
  const window = async (server, windowSeconds) => {
    server.child.send({ type: 'mark' })
    await nextMessage(server.child, ['marked'], 5000, `${server.row.id} mark`)
    load.send({ type: 'run', url: server.url, seconds: windowSeconds, connections, headers: server.cookie ? { cookie: server.cookie } : {} })
    const done = await nextMessage(load, ['done'], windowSeconds * 1000 + 30_000, `${server.row.id} load`)
    server.child.send({ type: 'stats' })
    const stats = await nextMessage(server.child, ['stats'], 5000, `${server.row.id} stats`)
    if (done.errors || done.non2xx) throw new Error(`${server.row.id}: ${done.errors} errors, ${done.non2xx} non-2xx answers`)
    return { rps: done.rps, cpuUsPerRequest: (stats.cpuUserUs + stats.cpuSystemUs) / stats.requests }
  }

  try {
    await nextMessage(load, ['ready'], 30_000, 'load generator start')
    for (const server of servers) {
      const hello = await nextMessage(server.child, ['ready', 'unavailable', 'error'], 30_000, `${server.row.id} start`)
      if (hello.type !== 'ready') throw new Error(`${server.row.id}: ${hello.reason ?? hello.message}`)
      server.url = `http://127.0.0.1:${hello.port}/`
      server.cookie = await sanityCheck(server.row, hello.port, caseId === 'cookie')
    }
    for (const server of servers) {
      await window(server, warmup / 2)
      await window(server, warmup / 2)
    }
    const measured = []
    for (let pair = 0; pair < pairs; pair++) {
      const [first, second] = pair % 2 === 0 ? [0, 1] : [1, 0]
      const result = []
      result[first] = await window(servers[first], seconds)
      result[second] = await window(servers[second], seconds)
      const [a, b] = result
      measured.push({ a, b, rpsRatio: b.rps / a.rps, cpuRatio: a.cpuUsPerRequest / b.cpuUsPerRequest })
      onPair(pair, a, b)
    }
    return {
      summary: { rpsRatio: spread(measured.map((m) => m.rpsRatio)), cpuRatio: spread(measured.map((m) => m.cpuRatio)) },
      measured,
    }
  } finally {
    await Promise.all([...servers.map((server) => stopChild(server.child)), stopChild(load)])
  }
}
