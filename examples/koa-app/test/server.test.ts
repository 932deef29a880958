// `pnpm --filter koa-app start` with a missing or short SESSION_SECRET stops at once with one
// line that names the variable and how to make one (no stack trace); with a good one it serves.
import { afterEach, expect, it } from 'vitest'
import { exampleServer, runToExit, startServer, stop, type RunningServer } from '../../../test/support/example-server.js'

const GENERATE = `node -e "console.log(crypto.randomBytes(32).toString('base64url'))"`
let running: RunningServer | undefined
afterEach(async () => {
  if (running) await stop(running)
  running = undefined
})

it.each([
  ['missing', undefined, 'SESSION_SECRET is not set'],
  ['empty', '', 'SESSION_SECRET is not set'],
  ['short', 'a-secret-of-31-characters-only!', 'SESSION_SECRET is 31 characters'],
])('a %s SESSION_SECRET: one line naming it and how to generate one, exit 1', (_case, secret, start) => {
  const run = runToExit(exampleServer('koa-app'), { SESSION_SECRET: secret })
  expect(run.status).toBe(1)
  expect(run.stdout).toBe('')
  expect(run.stderr.trim().split('\n')).toEqual([`${start}; sesame needs at least 32 random characters. Generate one with: ${GENERATE}`])
})

it('a good SESSION_SECRET: the server serves, and exits 0 on SIGTERM', async () => {
  running = await startServer(exampleServer('koa-app'), { SESSION_SECRET: 'x'.repeat(32) })
  const home = await fetch(running.url + '/')
  expect(home.status).toBe(200)
  expect(await home.text()).toContain('Try alice / wonderland')
  expect(await stop(running)).toBe(0)
  expect(running.output()).not.toMatch(/SESSION_SECRET|Error/)
})
