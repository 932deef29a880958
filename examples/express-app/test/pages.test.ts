// The Express example's pages are valid HTML: the tree a browser parses is the one the markup
// spells out (a <form> inside a <p> was not: the browser closed the <p> before the form).
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { misnested } from '../../../test/e2e/html-nesting.js'
import { createApp } from '../src/app.js'

let server: Server
let base = ''
let close: () => Promise<void>

beforeAll(async () => {
  const { app, sessions } = createApp({ secret: 'express-example-test-secret-0123456789abcdef' })
  server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  close = () => sessions.close()
})
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
  await close()
})

async function login(): Promise<string> {
  const res = await fetch(base + '/login', { method: 'POST', redirect: 'manual', body: new URLSearchParams({ username: 'alice', password: 'wonderland' }) })
  expect(res.status).toBe(303)
  return res.headers.getSetCookie()[0]!.split(';', 1)[0]!
}

it('home (anonymous and logged in) and the sessions page parse into the tree their markup spells out', async () => {
  const anonymous = await (await fetch(base + '/')).text()
  expect(anonymous).toContain('Try alice / wonderland')
  expect(misnested(anonymous)).toEqual([])

  const cookie = await login()
  await login() // a second device, so the sessions page has a Revoke form
  const home = await (await fetch(base + '/', { headers: { cookie } })).text()
  expect(home).toContain('Hello, Alice')
  expect(misnested(home)).toEqual([])
  const sessions = await (await fetch(base + '/sessions', { headers: { cookie } })).text()
  expect(sessions).toContain('Revoke')
  expect(misnested(sessions)).toEqual([])
})
