// Processes and HTTP checks shared by the harnesses (run.mjs, duel.mjs): children pinned to a core
// with taskset, their IPC messages, and the check that a row's route really counts before it is measured.

import { fork, spawnSync } from 'node:child_process'
import http from 'node:http'

export const pinning = spawnSync('taskset', ['-c', '0', 'true']).status === 0 && spawnSync('taskset', ['-c', '1', 'true']).status === 0
if (!pinning) console.warn('taskset not usable (or fewer than 2 cores): processes run unpinned, figures are noisier')

const live = new Set()
/** fork() a script, pinned to `core` with taskset when available (all its threads inherit it). */
export function forkPinned(script, argv, core, nodeFlags = []) {
  const options = { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, NODE_ENV: 'production' } }
  const child = pinning
    ? fork(script, argv, { ...options, execPath: 'taskset', execArgv: ['-c', String(core), process.execPath, ...nodeFlags] })
    : fork(script, argv, { ...options, execArgv: nodeFlags })
  let output = ''
  const keep = (chunk) => { output = (output + chunk).slice(-4000) }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  child.output = () => output
  live.add(child)
  child.once('exit', () => live.delete(child))
  return child
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of live) child.kill('SIGKILL')
    process.exit(130)
  })
}

export function nextMessage(child, types, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`${what}: no answer in ${timeoutMs} ms`)), timeoutMs)
    const onMessage = (message) => { if (types.includes(message?.type)) done(null, message) }
    const onExit = (code) => done(new Error(`${what}: exited (${code}) ${child.output().trim().slice(-600)}`))
    function done(error, message) {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      error ? reject(error) : resolve(message)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

export async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  // With a callback, a channel that closed meanwhile (the child exiting on its own) is reported there
  // instead of as an 'error' event.
  if (child.connected) child.send({ type: 'exit' }, () => {})
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

// ------------------------------------------------------------------ HTTP checks

export function get(port, cookie) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, headers: cookie ? { cookie } : {} }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode, body, setCookies: res.headers['set-cookie'] ?? [] }))
    })
    req.setTimeout(5000, () => req.destroy(new Error('request timed out')))
    req.on('error', reject)
  })
}

/** Turn Set-Cookie headers into the Cookie header a browser would send back. */
export function cookieHeader(setCookies) {
  return setCookies.map((line) => line.split(';')[0]).join('; ')
}

/**
 * Check that the row does what the figures claim before measuring it. Returns the Cookie header to
 * send when `sendCookie` (the existing-session cases).
 */
export async function sanityCheck(row, port, sendCookie) {
  const first = await get(port)
  if (first.status !== 200) throw new Error(`GET / answered ${first.status}: ${first.body.slice(0, 200)}`)
  if (row.kind === 'bare') return undefined
  if (first.body !== '1') throw new Error(`a new session should count 1, got ${JSON.stringify(first.body.slice(0, 100))}`)
  if (first.setCookies.length === 0) throw new Error('a new session that was written set no cookie')
  if (!sendCookie) return undefined
  const cookie = cookieHeader(first.setCookies)
  const second = await get(port, cookie)
  if (second.body !== '2') throw new Error(`the session did not carry over: second request counted ${JSON.stringify(second.body.slice(0, 100))}`)
  return cookie
}
