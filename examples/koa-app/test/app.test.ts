// The Koa example over real HTTP: log in, count, list and revoke sessions, log out, replay.
import { createServer, type Server } from 'node:http'
import request from 'supertest'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { misnested } from '../../../test/e2e/html-nesting.js'
import { createApp } from '../src/app.js'

let server: Server
let close: () => Promise<void>

beforeAll(async () => {
  const { app, sessions } = createApp({ secret: 'koa-example-test-secret-0123456789abcdef' })
  server = createServer(app.callback())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  close = () => sessions.close()
})
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
  await close()
})

it('logs in, counts, revokes the other device, logs out; the old cookie is dead', async () => {
  const laptop = request.agent(server)
  const phone = request.agent(server)
  const first = await laptop.get('/')
  expect(first.headers['set-cookie']).toBeUndefined()
  expect(misnested(first.text)).toEqual([])

  const wrong = await laptop.post('/login').type('form').send({ username: 'alice', password: 'x' })
  expect(wrong.status).toBe(303)
  expect((await laptop.get('/')).text).toContain('Wrong user name or password.')

  const login = await laptop.post('/login').type('form').send({ username: 'alice', password: 'wonderland' })
  expect(login.status).toBe(303)
  const cookie = (login.headers['set-cookie'] as unknown as string[])[0]!.split(';', 1)[0]!
  const home = (await laptop.get('/')).text
  expect(home).toContain('Hello, Alice')
  expect(misnested(home)).toEqual([])

  expect((await laptop.get('/api/count')).body).toEqual({ count: 1, user: 'alice' })
  await laptop.post('/count')
  expect((await laptop.get('/api/count')).body).toEqual({ count: 3, user: 'alice' })

  await phone.post('/login').type('form').send({ username: 'alice', password: 'wonderland' })
  const list = await laptop.get('/sessions')
  expect(list.text.match(/<tr><td>/g)).toHaveLength(2)
  expect(misnested(list.text)).toEqual([])
  const ref = /name="ref" value="([^"]+)"/.exec(list.text)![1]!
  expect((await laptop.post('/sessions/revoke').type('form').send({ ref })).status).toBe(303)
  expect((await phone.get('/sessions')).status).toBe(303)
  expect((await laptop.get('/sessions')).text.match(/<tr><td>/g)).toHaveLength(1)

  await laptop.post('/logout')
  expect((await laptop.get('/')).text).toContain('You have been logged out.')
  const replay = await request(server).get('/api/count').set('Cookie', cookie)
  expect(replay.body).toEqual({ count: 1, user: null })
})
