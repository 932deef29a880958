// Turns one run's measurements into docs/benchmarks.md plus two SVG charts drawn here (no external
// assets): server CPU and req/s per row, and heap vs creations for the scale case.

import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { basename, dirname, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

// The targets of issue 6. The bench reports against them; it never fails a run on them.
export const TARGETS = {
  maxExcessUs: 25,
  expressSessionRatio: 1.3,
  koaSessionRatio: 2.5,
  ironSessionRatio: 10,
  auditEventsPerSec: 50_000,
  auditMaxLoss: 0.1,
  redisRatio: 1.3,
  // Issue 23: the new-session path and memory per session.
  newExpressSessionRatio: 1.5,
  newKoaSessionCookieRatio: 1.0,
  newIronSessionRatio: 3,
  maxNewExcessUs: 40,
  maxBytesPerSession: 400,
}

/**
 * The ratio targets, in the order of the report's table: the sesame row, the row it is compared with,
 * the case and the least ratio (sesame's req/s over the peer's). run.mjs runs one interleaved duel per
 * target (peer as A, sesame as B) after the rounds; `group` says where in the table a target goes.
 */
export const RATIO_TARGETS = [
  { group: 'frameworks', label: `Express: ≥ ${TARGETS.expressSessionRatio}× express-session's req/s, existing session`, rowId: 'express-sesame', peerId: 'express-session', target: TARGETS.expressSessionRatio, caseId: 'cookie' },
  { group: 'frameworks', label: `Koa: ≥ ${TARGETS.koaSessionRatio}× koa-session's req/s (cookie mode), existing session`, rowId: 'koa-sesame', peerId: 'koa-session-cookie', target: TARGETS.koaSessionRatio, caseId: 'cookie' },
  { group: 'frameworks', label: `Koa: ≥ ${TARGETS.koaSessionRatio}× koa-session's req/s (external store), existing session`, rowId: 'koa-sesame', peerId: 'koa-session-store', target: TARGETS.koaSessionRatio, caseId: 'cookie' },
  { group: 'frameworks', label: `node:http: ≥ ${TARGETS.ironSessionRatio}× iron-session's req/s, existing session`, rowId: 'node-sesame', peerId: 'iron-session', target: TARGETS.ironSessionRatio, caseId: 'cookie' },
  { group: 'frameworks', label: `New session, Express: ≥ ${TARGETS.newExpressSessionRatio}× express-session's req/s (issue 23)`, rowId: 'express-sesame', peerId: 'express-session', target: TARGETS.newExpressSessionRatio, caseId: 'new' },
  { group: 'frameworks', label: `New session, Koa: ≥ ${TARGETS.newKoaSessionCookieRatio}× koa-session's req/s, cookie mode (issue 23)`, rowId: 'koa-sesame', peerId: 'koa-session-cookie', target: TARGETS.newKoaSessionCookieRatio, caseId: 'new' },
  { group: 'frameworks', label: `New session, withSession: ≥ ${TARGETS.newIronSessionRatio}× iron-session's req/s (issue 23)`, rowId: 'node-sesame', peerId: 'iron-session', target: TARGETS.newIronSessionRatio, caseId: 'new' },
  { group: 'redis', label: `Redis: ≥ ${TARGETS.redisRatio}× express-session + connect-redis's req/s (issue 5), existing session`, rowId: 'express-sesame-redis', peerId: 'express-session-redis', target: TARGETS.redisRatio, caseId: 'cookie' },
  { group: 'redis', label: `Redis: ≥ ${TARGETS.redisRatio}× express-session + connect-redis's req/s (issue 5), new session`, rowId: 'express-sesame-redis', peerId: 'express-session-redis', target: TARGETS.redisRatio, caseId: 'new' },
  { group: 'audit', label: `Audit file sink on: at most ${TARGETS.auditMaxLoss * 100}% fewer req/s than off (issue 4), existing session`, rowId: 'express-sesame-audit', peerId: 'express-sesame', target: 1 - TARGETS.auditMaxLoss, caseId: 'cookie' },
  { group: 'audit', label: `Audit file sink on: at most ${TARGETS.auditMaxLoss * 100}% fewer req/s than off (issue 4), new session`, rowId: 'express-sesame-audit', peerId: 'express-sesame', target: 1 - TARGETS.auditMaxLoss, caseId: 'new' },
]

/** Where a target's duel is kept in a run's results (results.duels). */
export function duelKey({ rowId, peerId, caseId }) {
  return `${peerId} vs ${rowId}, ${caseId}`
}

// ------------------------------------------------------------------ machine + versions

function packageVersion(name) {
  for (const base of [`${here}node_modules/${name}`, `${repoRoot}packages/${name.replace('@sesame/', '')}`]) {
    try {
      return JSON.parse(readFileSync(`${base}/package.json`, 'utf8')).version
    } catch { /* try the next place */ }
  }
  return undefined
}

function git(...argv) {
  try {
    return execFileSync('git', argv, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return undefined
  }
}

export function collectMachineInfo() {
  const cpus = os.cpus()
  let redisVersion
  try {
    redisVersion = execFileSync('redis-cli', ['-u', process.env.REDIS_URL || 'redis://127.0.0.1:6379', 'INFO', 'server'], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] })
      .match(/redis_version:(\S+)/)?.[1]
  } catch { /* no redis-cli or no Redis: the Redis rows say so themselves */ }
  const versions = {}
  for (const name of ['express', 'express-session', 'memorystore', 'koa', 'koa-session', 'iron-session', 'iron-webcrypto', 'connect-redis', 'redis', 'autocannon',
    '@sesame/core', '@sesame/express', '@sesame/koa', '@sesame/next', '@sesame/redis', '@sesame/audit-log']) {
    versions[name] = packageVersion(name)
  }
  return {
    cpuModel: cpus[0]?.model?.trim(),
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: redisVersion,
    commit: git('rev-parse', '--short', 'HEAD'),
    dirty: Boolean(git('status', '--porcelain')),
    versions,
  }
}

// ------------------------------------------------------------------ statistics

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** Spread of the rounds as a percentage of the median: (max - min) / median. */
function spread(values) {
  if (values.length < 2) return undefined
  return ((Math.max(...values) - Math.min(...values)) / median(values)) * 100
}

export function summarise(results) {
  const summary = {}
  for (const row of results.rows) {
    summary[row.id] = {}
    for (const { id: caseId } of results.cases) {
      const rounds = results.measurements[row.id]?.[caseId] ?? []
      const ok = rounds.filter((round) => round.status === 'ok')
      if (ok.length === 0) {
        const first = rounds[0] ?? { status: 'n/a', reason: 'not run' }
        summary[row.id][caseId] = { status: first.status, reason: first.reason }
        continue
      }
      const pick = (key) => ok.map((round) => round[key])
      summary[row.id][caseId] = {
        status: 'ok',
        rounds: ok.length,
        failedRounds: rounds.length - ok.length,
        rps: median(pick('rps')),
        rpsSpread: spread(pick('rps')),
        latencyP50Ms: median(pick('latencyP50Ms')),
        latencyP99Ms: median(pick('latencyP99Ms')),
        cpuUs: median(pick('cpuUsPerRequest')),
        cpuSpread: spread(pick('cpuUsPerRequest')),
        serverCoreUse: median(pick('serverCoreUse')),
        foreignCores: ok.every((round) => round.foreignCores !== undefined) ? median(pick('foreignCores')) : undefined,
        errors: ok.reduce((sum, round) => sum + round.errors + round.non2xx, 0),
      }
    }
  }
  // Derived figures need the bare row of the same round set.
  for (const row of results.rows) {
    for (const { id: caseId } of results.cases) {
      const own = summary[row.id][caseId]
      const bare = row.bare ? summary[row.bare]?.[caseId] : undefined
      if (own.status === 'ok' && bare?.status === 'ok') {
        own.excessUs = own.cpuUs - bare.cpuUs
        own.rpsVsBare = own.rps / bare.rps
      }
    }
  }
  return summary
}

// ------------------------------------------------------------------ formatting

const fmt = {
  int: (value) => (value === undefined || Number.isNaN(value) ? '–' : Math.round(value).toLocaleString('en')),
  ms: (value) => (value === undefined ? '–' : value < 10 ? value.toFixed(1).replace(/\.0$/, '') : String(Math.round(value))),
  ratio: (value) => (value === undefined ? '–' : `${value.toFixed(2)}×`),
  pct: (value) => (value === undefined ? '–' : `±${(value / 2).toFixed(0)}%`),
  signed: (value) => (value === undefined ? '–' : `${value >= 0 ? '+' : '−'}${Math.abs(Math.round(value))}`),
  mib: (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`,
}

function notOk(cell) {
  if (cell.status === 'n/a') return `n/a (${cell.reason?.replace(/\|/g, '/')})`
  return `failed: ${String(cell.reason ?? '').replace(/\|/g, '/').replace(/\n/g, ' ').slice(0, 160)}`
}

function rowTable(results, summary, caseId) {
  const lines = [
    '| row | req/s | req/s noise | p50 ms | p99 ms | server CPU µs/req | CPU noise | excess over bare µs | req/s vs bare | server core busy | other load |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  let group
  for (const row of results.rows) {
    if (row.group !== group) {
      group = row.group
      lines.push(`| **${group}** | | | | | | | | | | |`)
    }
    const cell = summary[row.id][caseId]
    const name = row.kind === 'sesame' ? `**${row.label}**` : row.label
    if (cell.status !== 'ok') {
      lines.push(`| ${name} | ${notOk(cell)} | | | | | | | | | |`)
      continue
    }
    lines.push(`| ${name} | ${fmt.int(cell.rps)} | ${fmt.pct(cell.rpsSpread)} | ${fmt.ms(cell.latencyP50Ms)} | ${fmt.ms(cell.latencyP99Ms)} | ${fmt.int(cell.cpuUs)} | ${fmt.pct(cell.cpuSpread)} | ${row.bare ? fmt.signed(cell.excessUs) : '(bare)'} | ${row.bare ? fmt.ratio(cell.rpsVsBare) : '1.00×'} | ${Math.round(cell.serverCoreUse * 100)}%${cell.errors ? ` (${cell.errors} errors)` : ''} | ${cell.foreignCores === undefined ? '?' : `${Math.round(cell.foreignCores * 100)}%`} |`)
  }
  return lines.join('\n')
}

function peerTable(results, summary) {
  const byId = new Map(results.rows.map((row) => [row.id, row]))
  const caseNames = { cookie: 'existing session', new: 'new session', fixed: 'fixed rate' }
  const lines = [
    `| sesame row | compared with | ${results.cases.map((c) => `${caseNames[c.id] ?? c.id}: req/s ratio | ${caseNames[c.id] ?? c.id}: CPU/req ratio`).join(' | ')} |`,
    `| --- | --- | ${results.cases.map(() => '---: | ---:').join(' | ')} |`,
  ]
  for (const row of results.rows) {
    for (const peerId of row.peers ?? []) {
      const peer = byId.get(peerId)
      if (!peer) continue
      const cells = results.cases.flatMap(({ id: caseId }) => {
        const own = summary[row.id][caseId]
        const other = summary[peerId][caseId]
        if (own.status !== 'ok' || other.status !== 'ok') return ['–', '–']
        return [fmt.ratio(own.rps / other.rps), fmt.ratio(own.cpuUs / other.cpuUs)]
      })
      lines.push(`| ${row.label} | ${peer.label} | ${cells.join(' | ')} |`)
    }
  }
  return lines.join('\n')
}

// ------------------------------------------------------------------ targets

/** Per round where both rows measured: peer CPU/req ÷ own CPU/req, and own req/s ÷ peer req/s. */
function pairedRatios(results, rowId, peerId, caseId) {
  const own = results.measurements[rowId]?.[caseId] ?? []
  const peer = results.measurements[peerId]?.[caseId] ?? []
  const cpu = []
  const rps = []
  for (let round = 0; round < Math.min(own.length, peer.length); round++) {
    const a = own[round]
    const b = peer[round]
    if (a?.status !== 'ok' || b?.status !== 'ok') continue
    cpu.push(b.cpuUsPerRequest / a.cpuUsPerRequest)
    rps.push(a.rps / b.rps)
  }
  return { cpu, rps }
}

function targetRows(results, summary) {
  const cell = (rowId, caseId) => summary[rowId]?.[caseId]
  const ok = (...cells) => cells.every((c) => c?.status === 'ok')
  // "within noise": the distance to the target is smaller than half the rounds' spread of the CPU
  // figures involved, so another run could land on the other side.
  const verdict = (met, withinNoise = false) => `${met ? '**met**' : '**gap**'}${withinNoise ? ' (within noise)' : ''}`
  const halfSpreadUs = (c) => ((c.cpuSpread ?? 0) / 200) * c.cpuUs
  const out = []

  for (const [rowId, frame] of [['express-sesame', 'Express'], ['koa-sesame', 'Koa'], ['node-sesame', 'withSession (vs the bridge alone)']]) {
    const c = cell(rowId, 'cookie')
    out.push(ok(c) && c.excessUs !== undefined
      ? (() => {
        const noiseUs = halfSpreadUs(c) + halfSpreadUs(summary[results.rows.find((row) => row.id === rowId).bare].cookie)
        const fixed = cell(rowId, 'fixed')
        const atFixedRate = fixed?.status === 'ok' && fixed.excessUs !== undefined ? `; at equal load (fixed rate): ${fmt.signed(fixed.excessUs)} µs` : ''
        return [`${frame}: existing session adds ≤ ${TARGETS.maxExcessUs} µs CPU/req over bare`, `${fmt.signed(c.excessUs)} µs (±${Math.round(noiseUs)})${atFixedRate}`, verdict(c.excessUs <= TARGETS.maxExcessUs, Math.abs(c.excessUs - TARGETS.maxExcessUs) <= noiseUs)]
      })()
      : [`${frame}: existing session adds ≤ ${TARGETS.maxExcessUs} µs CPU/req over bare`, c ? notOk(c) : 'not run', 'n/a'])
  }
  const ratioTarget = ({ label, rowId, peerId, target, caseId }) => {
    const a = cell(rowId, caseId)
    const b = cell(peerId, caseId)
    if (!ok(a, b)) return [label, a?.status !== 'ok' ? notOk(a ?? { status: 'n/a', reason: 'not run' }) : notOk(b ?? { status: 'n/a', reason: 'not run' }), 'n/a']
    // Judged on CPU per request: with the server saturated, req/s ratio = inverse CPU ratio, and unlike
    // req/s it does not depend on how often other work on the machine preempted the server.
    const rpsRatio = a.rps / b.rps
    const cpuRatio = b.cpuUs / a.cpuUs
    const medians = `medians of the rows: ${fmt.ratio(cpuRatio)} on CPU/req, ${fmt.ratio(rpsRatio)} on req/s`
    // Paired by round: the two rows ran seconds apart in each round (run.mjs), so the machine's speed
    // at the time divides out of each round's ratio, as far as it held still for those seconds.
    const paired = pairedRatios(results, rowId, peerId, caseId)
    const pairedText = paired.cpu.length >= 3
      ? `paired by round: ${fmt.ratio(median(paired.cpu))} on CPU/req (${paired.cpu.length} rounds, ${fmt.ratio(Math.min(...paired.cpu))}-${fmt.ratio(Math.max(...paired.cpu))}), ${fmt.ratio(median(paired.rps))} on req/s`
      : undefined
    // Interleaved (run.mjs's duels, duel-core.mjs): both servers up at once, 1 s windows alternating
    // between them, so the speed of the machine divides out of every pair. The verdict when there is one.
    const duel = results.duels?.[duelKey({ rowId, peerId, caseId })]
    if (duel && !duel.error) {
      const { cpuRatio: cpu, rpsRatio: rps } = duel.summary
      const agree = rps.median >= target === cpu.median >= target
      const relativeNoise = (cpu.q3 - cpu.q1) / 2 / cpu.median
      return [label, `${fmt.ratio(cpu.median)} on CPU/req, interleaved (${duel.pairs} pairs of ${duel.seconds} s windows, middle half ${fmt.ratio(cpu.q1)}-${fmt.ratio(cpu.q3)}); ${fmt.ratio(rps.median)} on req/s${agree ? '' : ' (req/s disagrees)'}; ${pairedText ? `${pairedText}; ` : ''}${medians}`, verdict(cpu.median >= target, Math.abs(cpu.median - target) <= cpu.median * relativeNoise)]
    }
    const duelFailed = duel?.error ? ` (the interleaved duel failed: ${duel.error})` : ''
    if (paired.cpu.length >= 3) {
      const cpuPaired = median(paired.cpu)
      const rpsPaired = median(paired.rps)
      const agree = rpsPaired >= target === cpuPaired >= target
      const low = Math.min(...paired.cpu)
      const high = Math.max(...paired.cpu)
      const relativeNoise = (high - low) / 2 / cpuPaired
      return [label, `${fmt.ratio(cpuPaired)} on CPU/req, paired by round (${paired.cpu.length} rounds, ${fmt.ratio(low)}-${fmt.ratio(high)}); ${fmt.ratio(rpsPaired)} on req/s${agree ? '' : ' (req/s disagrees)'}; ${medians}${duelFailed}`, verdict(cpuPaired >= target, Math.abs(cpuPaired - target) <= cpuPaired * relativeNoise)]
    }
    const agree = rpsRatio >= target === cpuRatio >= target
    const relativeNoise = halfSpreadUs(a) / a.cpuUs + halfSpreadUs(b) / b.cpuUs
    return [label, `${fmt.ratio(cpuRatio)} on CPU/req (±${Math.round(relativeNoise * 100)}%); ${fmt.ratio(rpsRatio)} on req/s${agree ? '' : ' (req/s disagrees)'}${duelFailed}`, verdict(cpuRatio >= target, Math.abs(cpuRatio - target) <= cpuRatio * relativeNoise)]
  }
  for (const spec of RATIO_TARGETS.filter((spec) => spec.group === 'frameworks')) out.push(ratioTarget(spec))
  for (const [rowId, frame] of [['express-sesame', 'Express'], ['koa-sesame', 'Koa'], ['node-sesame', 'withSession (vs the bridge alone)']]) {
    const c = cell(rowId, 'new')
    const label = `${frame}: a new session adds ≤ ${TARGETS.maxNewExcessUs} µs CPU/req over bare (issue 23)`
    if (!ok(c) || c.excessUs === undefined) {
      out.push([label, c ? notOk(c) : 'not run', 'n/a'])
      continue
    }
    const noiseUs = halfSpreadUs(c) + halfSpreadUs(summary[results.rows.find((row) => row.id === rowId).bare].new)
    out.push([label, `${fmt.signed(c.excessUs)} µs (±${Math.round(noiseUs)})`, verdict(c.excessUs <= TARGETS.maxNewExcessUs, Math.abs(c.excessUs - TARGETS.maxNewExcessUs) <= noiseUs)])
  }
  for (const store of results.memory?.stores?.filter((entry) => entry.id === 'sesame-memory') ?? []) {
    const label = `memoryStore holds a small session in ≤ ${TARGETS.maxBytesPerSession} B of heap, verified-cookie cache included, at ${store.count.toLocaleString('en')} sessions (issue 23)`
    if (store.unavailable) out.push([label, `n/a (${store.unavailable})`, 'n/a'])
    else out.push([label, `${Math.round(store.bytesPerSession)} B of heap (+${Math.round(store.offHeapBytesPerSession)} B outside it) per session`, verdict(store.bytesPerSession <= TARGETS.maxBytesPerSession)])
  }

  for (const spec of RATIO_TARGETS.filter((spec) => spec.group === 'redis' || spec.group === 'audit')) out.push(ratioTarget(spec))
  const sink = results.auditSink
  const sinkLabel = `Audit fileSink sustains ≥ ${TARGETS.auditEventsPerSec.toLocaleString('en')} events/s (issue 4)`
  if (!sink || sink.error) out.push([sinkLabel, sink?.error ?? 'not run', 'n/a'])
  else out.push([sinkLabel, `${Math.round(sink.eventsPerSec).toLocaleString('en')} events/s, median of ${sink.rounds} run(s) of ${sink.events.toLocaleString('en')} (${sink.all.map((n) => n.toLocaleString('en')).join(', ')}); ${Math.round(sink.eventsPerCpuSec).toLocaleString('en')} per CPU-second; ${sink.dropped} dropped; ${sink.verified ? 'every file verified' : 'VERIFY FAILED'}`, verdict(sink.eventsPerSec >= TARGETS.auditEventsPerSec && sink.dropped === 0 && sink.verified)])

  const scale = results.scale
  const sesameScale = scale?.stores?.find((store) => store.id === 'sesame')
  const peerScale = scale?.stores?.find((store) => store.id === 'express-session')
  const scaleLabel = `Memory store bounded by \`max\` at ${scale?.creations?.toLocaleString('en') ?? '1,000,000'} creations, while the peer grows`
  if (!sesameScale || sesameScale.unavailable || !peerScale?.points) out.push([scaleLabel, sesameScale?.summary ?? scale?.error ?? 'not run', 'n/a'])
  else {
    // Flat: after the store is full, the heap moves by less than a tenth of what it held at that point.
    const flat = sesameScale.held <= scale.max && Math.abs(sesameScale.growthAfterFullBytes) <= Math.max(0.1 * sesameScale.heapAtFullBytes, 2 ** 20)
    const grows = peerScale.growthAfterFullBytes > 0.5 * peerScale.heapAtFullBytes
    out.push([scaleLabel, `sesame holds ${sesameScale.held.toLocaleString('en')}, heap ${fmt.mib(sesameScale.heapAtFullBytes)} when full → ${fmt.mib(sesameScale.heapAtEndBytes)} at the end; express-session holds ${peerScale.held.toLocaleString('en')}, ${fmt.mib(peerScale.heapAtFullBytes)} → ${fmt.mib(peerScale.heapAtEndBytes)}`, verdict(flat && grows)])
  }
  return ['Ratios are judged on server CPU per request (what req/s would show with the server saturated); the req/s ratio is given next to it. Where the run has an interleaved duel for a target (the full run does, after its rounds), that is the verdict: both servers up at once, 1 s windows alternating between them, the median of the per-pair ratios, so the machine\'s speed at each moment divides out. Otherwise, with three rounds or more, the median of the per-round ratios (each round measures the two rows seconds apart); the ratio of the rows\' medians follows it.', '', '| target (issue 6, and 4 and 5 where named) | measured | verdict |', '| --- | --- | --- |', ...out.map((cells) => `| ${cells.join(' | ')} |`)].join('\n')
}

// ------------------------------------------------------------------ charts

const escapeXml = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const COLOURS = { sesame: '#1f6feb', peer: '#d97706', bare: '#8b949e' }

function niceMax(value) {
  const magnitude = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude
  return 10 * magnitude
}

/** Horizontal bars: one panel per (metric, case), rows down the side. */
function barChart(results, summary) {
  const rows = results.rows
  const panels = [
    { caseId: 'cookie', metric: 'cpuUs', title: 'Server CPU µs per request, existing session (lower is better)' },
    { caseId: 'new', metric: 'cpuUs', title: 'Server CPU µs per request, new session (lower is better)' },
    { caseId: 'fixed', metric: 'cpuUs', title: 'Server CPU µs per request, existing session at a fixed rate (lower is better)' },
    { caseId: 'cookie', metric: 'rps', title: 'Requests per second, existing session (higher is better)' },
  ].filter((panel) => results.cases.some((c) => c.id === panel.caseId))
  const labelWidth = 370
  const barArea = 420
  const barHeight = 14
  const rowGap = 6
  const panelHeader = 40
  const panelHeight = panelHeader + rows.length * (barHeight + rowGap) + 24
  const width = labelWidth + barArea + 90
  const height = panels.length * panelHeight + 40
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<g font-size="11"><rect x="${labelWidth}" y="10" width="10" height="10" fill="${COLOURS.sesame}"/><text x="${labelWidth + 14}" y="19">sesame</text>`
      + `<rect x="${labelWidth + 80}" y="10" width="10" height="10" fill="${COLOURS.peer}"/><text x="${labelWidth + 94}" y="19">peer library</text>`
      + `<rect x="${labelWidth + 190}" y="10" width="10" height="10" fill="${COLOURS.bare}"/><text x="${labelWidth + 204}" y="19">no session (bare)</text></g>`,
  ]
  panels.forEach((panel, index) => {
    const top = 30 + index * panelHeight
    const values = rows.map((row) => summary[row.id][panel.caseId]).map((cell) => (cell.status === 'ok' ? cell[panel.metric] : undefined))
    const max = niceMax(Math.max(1, ...values.filter((value) => value !== undefined)))
    parts.push(`<text x="10" y="${top + 20}" font-size="14" font-weight="600">${escapeXml(panel.title)}</text>`)
    for (let tick = 0; tick <= 4; tick++) {
      const x = labelWidth + (barArea * tick) / 4
      parts.push(`<line x1="${x}" y1="${top + panelHeader - 6}" x2="${x}" y2="${top + panelHeight - 20}" stroke="#e5e7eb"/>`)
      parts.push(`<text x="${x}" y="${top + panelHeight - 8}" text-anchor="middle" fill="#6b7280" font-size="10">${fmt.int((max * tick) / 4)}</text>`)
    }
    rows.forEach((row, i) => {
      const y = top + panelHeader + i * (barHeight + rowGap)
      parts.push(`<text x="${labelWidth - 8}" y="${y + barHeight - 3}" text-anchor="end">${escapeXml(row.label)}</text>`)
      const value = values[i]
      if (value === undefined) {
        parts.push(`<text x="${labelWidth + 4}" y="${y + barHeight - 3}" fill="#6b7280" font-style="italic">${escapeXml(summary[row.id][panel.caseId].status)}</text>`)
        return
      }
      const w = Math.max(1, (barArea * value) / max)
      parts.push(`<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${COLOURS[row.kind]}"/>`)
      parts.push(`<text x="${labelWidth + w + 4}" y="${y + barHeight - 3}" fill="#111827">${fmt.int(value)}</text>`)
    })
  })
  parts.push('</svg>')
  return parts.join('\n')
}

function scaleChart(scale) {
  const stores = scale.stores.filter((store) => store.points)
  const width = 760
  const height = 340
  const left = 70
  const right = 190
  const top = 40
  const bottom = 50
  const plotW = width - left - right
  const plotH = height - top - bottom
  const maxHeap = niceMax(Math.max(1, ...stores.flatMap((store) => store.points.map((p) => p.heapBytes / 2 ** 20))))
  const x = (created) => left + (plotW * created) / scale.creations
  const y = (bytes) => top + plotH - (plotH * bytes) / 2 ** 20 / maxHeap
  const colours = { sesame: COLOURS.sesame, 'express-session': COLOURS.peer }
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="14" font-weight="600">Heap after GC while creating ${scale.creations.toLocaleString('en')} sessions (MiB)</text>`,
  ]
  for (let tick = 0; tick <= 4; tick++) {
    const value = (maxHeap * tick) / 4
    const yy = top + plotH - (plotH * tick) / 4
    parts.push(`<line x1="${left}" y1="${yy}" x2="${left + plotW}" y2="${yy}" stroke="#e5e7eb"/>`)
    parts.push(`<text x="${left - 6}" y="${yy + 4}" text-anchor="end" fill="#6b7280" font-size="10">${fmt.int(value)}</text>`)
    const created = (scale.creations * tick) / 4
    parts.push(`<text x="${x(created)}" y="${top + plotH + 16}" text-anchor="middle" fill="#6b7280" font-size="10">${fmt.int(created)}</text>`)
  }
  parts.push(`<text x="${left + plotW / 2}" y="${height - 12}" text-anchor="middle" fill="#374151">sessions created</text>`)
  if (scale.max <= scale.creations) {
    parts.push(`<line x1="${x(scale.max)}" y1="${top}" x2="${x(scale.max)}" y2="${top + plotH}" stroke="#9ca3af" stroke-dasharray="4 3"/>`)
    parts.push(`<text x="${x(scale.max) + 4}" y="${top + 12}" fill="#6b7280" font-size="10">max = ${scale.max.toLocaleString('en')}</text>`)
  }
  stores.forEach((store, index) => {
    const colour = colours[store.id] ?? '#111827'
    const path = store.points.map((p, i) => `${i ? 'L' : 'M'}${x(p.created).toFixed(1)},${y(p.heapBytes).toFixed(1)}`).join(' ')
    parts.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`)
    const ly = top + 20 + index * 36
    parts.push(`<line x1="${left + plotW + 12}" y1="${ly}" x2="${left + plotW + 30}" y2="${ly}" stroke="${colour}" stroke-width="3"/>`)
    parts.push(`<text x="${left + plotW + 36}" y="${ly + 4}" font-size="11">${escapeXml(store.id)}</text>`)
    parts.push(`<text x="${left + plotW + 36}" y="${ly + 18}" font-size="10" fill="#6b7280">${escapeXml(`holds ${store.held.toLocaleString('en')}`)}</text>`)
  })
  parts.push('</svg>')
  return parts.join('\n')
}

// ------------------------------------------------------------------ the document

export function writeReport(results, outFile) {
  const summary = summarise(results)
  const outDir = dirname(outFile)
  mkdirSync(outDir, { recursive: true })
  const stem = basename(outFile, '.md')
  const chartFile = `${outDir}/${stem}.svg`
  const scaleFile = `${outDir}/${stem}-scale.svg`
  const written = [outFile]
  writeFileSync(chartFile, barChart(results, summary))
  written.push(chartFile)
  const hasScale = results.scale?.stores?.some((store) => store.points)
  if (hasScale) {
    writeFileSync(scaleFile, scaleChart(results.scale))
    written.push(scaleFile)
  }

  const m = results.machine
  const s = results.settings
  const caseSections = results.cases.map((c) => `### ${c.label}\n\n${rowTable(results, summary, c.id)}`).join('\n\n')
  const analysisFile = `${here}analysis.md`
  const analysis = existsSync(analysisFile) ? readFileSync(analysisFile, 'utf8').trim() : ''
  const versions = Object.entries(m.versions).filter(([, version]) => version).map(([name, version]) => `${name} ${version}`).join(', ')
  const scaleSection = !results.scale ? '' : results.scale.error ? `## Scale: memory store at ${s.scaleCreations.toLocaleString('en')} creations\n\nFailed: ${results.scale.error}\n` : [
    `## Scale: memory store at ${results.scale.creations.toLocaleString('en')} creations`,
    '',
    `Each store gets ${results.scale.creations.toLocaleString('en')} new sessions holding \`{ n: 1 }\`, driven in-process (no HTTP); the heap is sampled after a full GC (\`node --expose-gc\`) every ${results.scale.sampleEvery.toLocaleString('en')} creations.`,
    '',
    '| store | sessions held at the end | heap when sesame\'s store is full | heap at the end | growth after full | µs per creation |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...results.scale.stores.map((store) => (store.unavailable
      ? `| ${store.label} | n/a (${store.unavailable}) | | | | |`
      : `| ${store.label} | ${store.held.toLocaleString('en')} | ${fmt.mib(store.heapAtFullBytes)} | ${fmt.mib(store.heapAtEndBytes)} | ${fmt.mib(store.growthAfterFullBytes)} | ${store.usPerCreation.toFixed(2)} |`)),
    '',
    hasScale ? `![heap vs sessions created](${relative(outDir, scaleFile)})` : '',
    '',
  ].join('\n')

  const memory = results.memory
  const memorySection = !memory ? '' : memory.error ? `## Memory per session\n\nFailed: ${memory.error}\n` : [
    '## Memory per session',
    '',
    `Each store row's store, driven in-process (\`test/bench/memory.mjs\`, \`node --expose-gc\`): a full GC, then that many new sessions holding \`{ n: 1 }\` (sesame through its engine, load + commit; each session then comes back once with its cookie, so the verified-cookie cache is in the figure; the peers' stores get the session their middleware stores), a full GC again. Bytes per session = heap growth ÷ sessions held, what the store allocates up front included; *off-heap* is ArrayBuffer memory (lru-cache's typed arrays). Sessions in Redis: the Node heap per session, and Redis's own \`used_memory\` growth per session. The sesame rows of Express, Koa and withSession share one store type: memoryStore is the figure for all three.`,
    '',
    '| store | sessions held | heap per session | off-heap per session | Redis per session |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...memory.stores.map((store) => (store.unavailable
      ? `| ${store.label} | n/a (${store.unavailable}) | | | |`
      : `| ${store.label} | ${store.held.toLocaleString('en')} | ${Math.round(store.bytesPerSession).toLocaleString('en')} B | ${Math.round(store.offHeapBytesPerSession).toLocaleString('en')} B | ${store.redisBytesPerSession === undefined ? '' : `${Math.round(store.redisBytesPerSession).toLocaleString('en')} B`} |`)),
    '',
  ].join('\n')

  const doc = `# Benchmarks

<!-- Generated by test/bench (report.mjs). Do not edit by hand: edit test/bench/analysis.md, then re-run. -->

${results.partial ? '> **Partial run** (a subset of rows or cases): not every row below was measured.\n\n' : ''}Generated ${results.startedAt} by \`${results.command}\` in ${Math.round(results.durationSeconds)} s.
Every row below comes from this one invocation. Reproduce with:

\`\`\`sh
CI=true npx --yes pnpm@10 install
pnpm bench            # full matrix: 3 rounds of 3 s per row and case, rewrites this file and its charts
pnpm bench --quick    # 1 short round, writes test/bench/results/benchmarks-quick.md instead
\`\`\`

## How it was measured

- Each row is a fresh server process${results.pinning ? ' pinned to core 0 (`taskset -c 0`)' : ' (unpinned: taskset was not usable)'}; autocannon runs in another process${results.pinning ? ' pinned to core 1' : ''}; loopback only.
- ${s.connections} connections, ${s.warmupSeconds} s warm-up${s.warmupNewSeconds !== undefined && s.warmupNewSeconds !== s.warmupSeconds ? ` (${s.warmupNewSeconds} s for the new-session case)` : ''}, then ${s.seconds} s measured; ${s.rounds} round${s.rounds > 1 ? 's' : ''}, interleaved across rows; the figures are medians of the rounds.
- The route is the same in every row: \`n = (session.n || 0) + 1\`, respond with \`n\`. Bare rows keep \`n\` in a variable.
- **existing session**: one cookie obtained first, every request sends it (read + write on every request). **new session**: no cookie, so every request creates and stores a session. Both drive the server as fast as it answers.
- **existing session at a fixed rate** (full run only): the same requests, but autocannon sends one fixed total rate to every row (rows that cannot reach it run saturated: see server core busy). CPU per request is not a constant: below saturation each request also pays for waking an idle core and for caches gone cold between requests (on this VM bare Koa costs ~22 µs/req at 44,000 req/s and ~60 µs/req at 2,000 req/s), and a library that touches more code and data pays more of it. At one rate every row runs under the same load, closer to a real server, which rarely runs flat out.
- **server CPU µs/req**: the server's own \`process.cpuUsage()\` (user + system, all its threads, GC included) over the measured window, divided by the requests it served. It does not depend on how fast the load generator is, so it is the figure to compare; **excess over bare** subtracts the bare row of the same framework. **server core busy** near 100% means the server was the bottleneck; well below means the load generator or Redis was, and req/s then understates the server.
- **other load**: how much of a core something outside this bench used during the window (from \`/proc/stat\`, minus the server and the load generator). This machine may be shared; rows measured while it was high are the least trustworthy.
- Before each measurement the harness waits for the machine to be quiet (other work under a quarter core), within a budget of ${s.quietWaitSeconds} s per run; it waited ${Math.round(results.quietWaitedSeconds ?? 0)} s in this run.
${results.duels ? `- **Interleaved duels** (the verdicts of the ratio targets): after the rounds, for each ratio target both rows' servers run at once on core 0 (only the one under load is busy) and one load generator on core 1 alternates ${s.duelSeconds} s windows between them, A B, B A, ..., ${s.duelPairs} pairs after ${s.duelWarmupSeconds} s of warm-up each; each pair's ratio has the machine's speed of that moment divided out, and the verdict is the median pair. (This VM's speed moves by tens of percent within seconds: in one round of the same run, express-session measured 176 µs per request and, two rounds later, 319 µs.)\n` : ''}- **req/s noise**, **CPU noise**: half the spread (max − min) over the rounds, as a share of the median (at a fixed rate req/s is set by the load generator, so read CPU noise there).${s.rounds < 2 ? ' One round: no noise figure.' : ''}
- Rows marked *n/a* need a sesame package that is not built yet; *failed* rows did not pass the check run before measuring (the route must count 1, then 2 with the cookie).

Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}${m.redis ? `; Redis ${m.redis} on the same machine (not pinned)` : ''}. Commit ${m.commit ?? '?'}${m.dirty ? ' (with uncommitted changes)' : ''}.
Versions: ${versions}.

## Results

![server CPU per request and req/s per row](${relative(outDir, chartFile)})

${caseSections}

### sesame against each peer

Ratios are sesame ÷ peer: req/s above 1 and CPU/req below 1 favour sesame.

${peerTable(results, summary)}

${scaleSection}
${memorySection}
## Targets

${targetRows(results, summary)}

${analysis ? `${analysis}\n` : ''}`
  writeFileSync(outFile, doc)
  return written
}
