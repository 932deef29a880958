// The express-session README app, run on express-session and on sesame with only the import and the
// secret changed: every step must look the same to the user (status, body, redirect, the session
// cookie the browser holds and whether it is persistent and for how long).
import { createServer } from 'node:http'
import expressSession from 'express-session'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { session as sesameSession } from '@sesame/express'
import { expressReadmeApp } from './apps/express-readme-app.js'
import { close, listen, runFlow, type Step } from './flow.js'

const steps: Step[] = [
  { name: 'first visit: the login form', method: 'GET', path: '/' },
  { name: 'view counter', method: 'GET', path: '/foo' },
  { name: 'view counter again', method: 'GET', path: '/foo' },
  { name: 'another page counts apart', method: 'GET', path: '/bar' },
  { name: 'login: regenerate(cb) + save(cb)', method: 'POST', path: '/login', form: { user: 'alice', pass: 'x' } },
  { name: 'after the redirect: the flash and the user', method: 'GET', path: '/' },
  { name: 'the flash is shown once', method: 'GET', path: '/' },
  { name: 'regenerate started a new session: counters restart', method: 'GET', path: '/foo' },
  { name: 'whoami: a browser-session cookie', method: 'GET', path: '/whoami' },
  { name: 'logout the README way: user = null, save(cb), regenerate(cb)', method: 'GET', path: '/logout' },
  { name: 'after logout: its flash and the form', method: 'GET', path: '/' },
  { name: 'login with remember me: cookie.maxAge = 30 days', method: 'POST', path: '/login', form: { user: 'bob', pass: 'x', remember: 'on' } },
  { name: 'remembered: the flash', method: 'GET', path: '/' },
  { name: 'remembered: whoami', method: 'GET', path: '/whoami' },
  { name: 'logout with destroy(cb)', method: 'POST', path: '/logout', endsSession: true },
  { name: 'after destroy: a new anonymous session', method: 'GET', path: '/' },
  { name: 'after destroy: counters restart', method: 'GET', path: '/foo' },
]

const servers: Array<import('node:http').Server> = []
afterEach(async () => {
  for (const server of servers.splice(0)) await close(server)
  vi.restoreAllMocks()
})

describe('an express-session README app, unchanged but for the import and the secret', () => {
  it('behaves the same on sesame as on express-session, step by step', async () => {
    const peer = await listen(createServer(expressReadmeApp(expressSession, 'keyboard cat')))
    servers.push(peer)
    const warnings = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const ours = await listen(createServer(expressReadmeApp(sesameSession, 'keyboard cat and a secret of 32+ characters')))
    servers.push(ours)

    const expected = await runFlow(peer, 'connect.sid', steps)
    const actual = await runFlow(ours, 'sid', steps)
    for (let i = 0; i < steps.length; i++) {
      expect(actual.observations[i], steps[i]!.name).toEqual(expected.observations[i])
    }
    // Spot checks that the flow exercised what it claims (so equal lists cannot mean "both broken").
    const byStep = Object.fromEntries(actual.observations.map((o) => [o.step, o]))
    expect(byStep['view counter again']!.body).toBe('you viewed this page 2 times')
    expect(byStep['after the redirect: the flash and the user']!.body).toContain('Welcome back, alice')
    expect(byStep['after the redirect: the flash and the user']!.body).toContain('hello, alice!')
    expect(byStep['the flash is shown once']!.body).not.toContain('Welcome back')
    expect(byStep['whoami: a browser-session cookie']!.cookie).toEqual({ kind: 'session' })
    expect(byStep['remembered: whoami']!.body).toBe(JSON.stringify({ user: 'bob', remembered: true, hasId: true }))
    expect(byStep['remembered: whoami']!.cookie).toEqual({ kind: 'persistent', lifetimeMinutes: 30 * 24 * 60 })
    expect(byStep['after destroy: a new anonymous session']!.cookie).toEqual({ kind: 'session' })
    // The one difference, in sesame's favour: destroy clears the cookie (express-session leaves it).
    expect(expected.cleared['logout with destroy(cb)']).toBe(false)
    expect(actual.cleared['logout with destroy(cb)']).toBe(true)
    // resave: false and saveUninitialized: true map onto sesame without a word.
    expect(warnings).not.toHaveBeenCalled()
  })
})
