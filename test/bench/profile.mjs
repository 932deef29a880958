#!/usr/bin/env node
// Profile one row under load: `node test/bench/profile.mjs [row] [--case cookie|new] [--seconds 10]`.
// Starts the row's server with `node --cpu-prof` (pinned like the bench), drives it with autocannon,
// stops it cleanly so V8 writes the profile, then prints the frames with the most self time: all of
// them, and those inside the sesame packages (packages/*/dist). The .cpuprofile is kept under
// test/bench/results/profiles/ for Chrome DevTools or speedscope.

import { fork, spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const here = fileURLToPath(new URL('.', import.meta.url))
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    case: { type: 'string', default: 'cookie' },
    seconds: { type: 'string', default: '10' },
    top: { type: 'string', default: '25' },
  },
})
const rowId = positionals[0] ?? 'express-sesame'
const profileDir = `${here}results/profiles`
mkdirSync(profileDir, { recursive: true })

const pinning = spawnSync('taskset', ['-c', '0', 'true']).status === 0
const pinned = (core, flags) => (pinning ? { execPath: 'taskset', execArgv: ['-c', String(core), process.execPath, ...flags] } : { execArgv: flags })
const once = (child, type) => new Promise((resolve, reject) => {
  child.on('message', (message) => { if (message?.type === type || message?.type === 'unavailable' || message?.type === 'error') resolve(message) })
  child.once('exit', (code) => reject(new Error(`${type}: child exited ${code}`)))
})

const startedAt = Date.now()
const server = fork(`${here}server.mjs`, [rowId], { ...pinned(0, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=100']), env: { ...process.env, NODE_ENV: 'production' } })
const hello = await once(server, 'ready')
if (hello.type !== 'ready') {
  console.error(`${rowId}: ${hello.reason ?? hello.message}`)
  server.kill()
  process.exit(1)
}

let cookie
if (args.case === 'cookie') {
  cookie = await new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: hello.port, path: '/' }, (res) => {
      res.resume()
      resolve((res.headers['set-cookie'] ?? []).map((line) => line.split(';')[0]).join('; '))
    }).on('error', reject)
  })
}
const load = fork(`${here}load.mjs`, [JSON.stringify({ url: `http://127.0.0.1:${hello.port}/`, connections: 10, warmupSeconds: 1, seconds: Number(args.seconds), headers: cookie ? { cookie } : {} })], pinned(1, []))
await once(load, 'warmed')
load.send({ type: 'go' })
const result = await once(load, 'result')
const exited = new Promise((resolve) => server.once('exit', resolve))
server.send({ type: 'exit' })
await exited

const newest = readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile'))
  .map((name) => ({ name, at: statSync(`${profileDir}/${name}`).mtimeMs })).filter((file) => file.at >= startedAt)
  .sort((a, b) => b.at - a.at)[0]
if (!newest) throw new Error('no .cpuprofile was written')
const profile = JSON.parse(readFileSync(`${profileDir}/${newest.name}`, 'utf8'))

// Self time per node from the sample intervals, then grouped by function + location.
const selfUs = new Map()
const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
for (let i = 0; i < profile.samples.length; i++) {
  const delta = profile.timeDeltas[i + 1] ?? 0
  selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + delta)
}
const totalUs = [...selfUs.values()].reduce((sum, value) => sum + value, 0)
const idleUs = [...selfUs].filter(([id]) => ['(idle)', '(program)'].includes(nodes.get(id).callFrame.functionName)).reduce((sum, [, us]) => sum + us, 0)
const frames = new Map()
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = nodes.get(id).callFrame
  const file = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\/\.pnpm\/[^/]+\/node_modules\//, '').replace(/^.*\/(packages\/)/, '$1')
  const key = `${functionName || '(anonymous)'}  ${file}${url ? `:${lineNumber + 1}` : ''}`
  frames.set(key, (frames.get(key) ?? 0) + us)
}
const IDLE = new Set(['(idle)', '(program)'])
const sorted = [...frames].filter(([key]) => !IDLE.has(key.trim())).sort((a, b) => b[1] - a[1])

// Inclusive time of sesame frames: each sample counts once for every distinct sesame frame on its stack.
const parent = new Map()
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
const keyOf = (id) => {
  const { functionName, url, lineNumber } = nodes.get(id).callFrame
  const file = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\/\.pnpm\/[^/]+\/node_modules\//, '').replace(/^.*\/(packages\/)/, '$1')
  return `${functionName || '(anonymous)'}  ${file}${url ? `:${lineNumber + 1}` : ''}`
}
const inclusive = new Map()
for (let i = 0; i < profile.samples.length; i++) {
  const delta = profile.timeDeltas[i + 1] ?? 0
  const seen = new Set()
  for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) {
    const key = keyOf(id)
    if (key.includes('packages/')) seen.add(key)
  }
  for (const key of seen) inclusive.set(key, (inclusive.get(key) ?? 0) + delta)
}
const busyUs = totalUs - idleUs
const perRequest = (us) => (us / result.requests).toFixed(2)
const line = ([key, us]) => `${((us / busyUs) * 100).toFixed(1).padStart(5)}%  ${perRequest(us).padStart(7)} µs/req  ${key}`

console.log(`${rowId} (${args.case}): ${Math.round(result.rps)} req/s over ${args.seconds} s with the profiler on; profile ${profileDir}/${newest.name}`)
console.log(`busy ${(busyUs / 1000).toFixed(0)} ms of ${(totalUs / 1000).toFixed(0)} ms sampled; shares below are of the busy time, µs/req over ${result.requests} requests`)
console.log('\ntop self time, all frames:')
for (const entry of sorted.slice(0, Number(args.top))) console.log(line(entry))
console.log('\ntop self time inside sesame (packages/*):')
const ours = sorted.filter(([key]) => key.includes('packages/'))
for (const entry of ours.slice(0, Number(args.top))) console.log(line(entry))
console.log('\ntop inclusive time of sesame frames (self + everything they call):')
for (const entry of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top))) console.log(line(entry))
console.log(`sesame self time in all: ${((ours.reduce((sum, [, us]) => sum + us, 0) / busyUs) * 100).toFixed(1)}% of busy, ${perRequest(ours.reduce((sum, [, us]) => sum + us, 0))} µs/req`)
