// The koa-session README app, run on koa-session and on sesame with only the import and the secret
// changed: every step must look the same to the user (status, body, redirect, the session cookie the
// browser holds and whether it is persistent and for how long).
import { createServer } from 'node:http'
import koaSession from 'koa-session'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { session as sesameSession } from '@sesame/koa'
import { koaReadmeApp } from './apps/koa-readme-app.js'
import { close, listen, runFlow, type Step } from './flow.js'

const steps: Step[] = [
  { name: 'first visit: nothing written, no cookie', method: 'GET', path: '/' },
  { name: 'view counter', method: 'GET', path: '/views' },
  { name: 'view counter again', method: 'GET', path: '/views' },
  { name: 'the session as koa-session shows it', method: 'GET', path: '/' },
  { name: 'login: regenerate() + save(), keeps the data', method: 'POST', path: '/login', form: { user: 'alice' } },
  { name: 'after the redirect: the flash and the user', method: 'GET', path: '/' },
  { name: 'the flash is shown once', method: 'GET', path: '/' },
  { name: 'ctx.session = { ... } replaces the data', method: 'POST', path: '/reset' },
  { name: 'after the replacement', method: 'GET', path: '/' },
  { name: 'logout: ctx.session = null', method: 'POST', path: '/logout' },
  { name: 'after logout: nothing', method: 'GET', path: '/' },
  { name: 'login with the callback forms regenerate(cb) + save(cb)', method: 'POST', path: '/login-cb', form: { user: 'cleo' } },
  { name: 'after the callback login', method: 'GET', path: '/' },
  { name: 'logout again', method: 'POST', path: '/logout' },
  { name: 'login with remember me: maxAge = 30 days', method: 'POST', path: '/login', form: { user: 'bob', remember: 'on' } },
  { name: 'remembered: the flash, maxAge', method: 'GET', path: '/' },
  { name: 'remembered: counting on', method: 'GET', path: '/views' },
]

const servers: Array<import('node:http').Server> = []
afterEach(async () => {
  for (const server of servers.splice(0)) await close(server)
  vi.restoreAllMocks()
})

describe('a koa-session README app, unchanged but for the import and the secret', () => {
  it('behaves the same on sesame as on koa-session, step by step', async () => {
    const peer = await listen(createServer(koaReadmeApp(koaSession, 'unused by koa-session').callback()))
    servers.push(peer)
    const warnings = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const ours = await listen(createServer(koaReadmeApp(sesameSession, 'a sesame secret of at least 32 characters').callback()))
    servers.push(ours)

    const expected = await runFlow(peer, 'koa.sess', steps)
    const actual = await runFlow(ours, 'koa.sess', steps)
    for (let i = 0; i < steps.length; i++) {
      expect(actual.observations[i], steps[i]!.name).toEqual(expected.observations[i])
    }
    const byStep = Object.fromEntries(actual.observations.map((o) => [o.step, o]))
    expect(byStep['view counter again']!.body).toBe('2 views')
    expect(byStep['view counter']!.cookie).toEqual({ kind: 'persistent', lifetimeMinutes: 24 * 60 })
    expect(JSON.parse(byStep['after the redirect: the flash and the user']!.body)).toMatchObject({ flash: 'Welcome back, alice', user: 'alice', views: 2 })
    expect(JSON.parse(byStep['after the replacement']!.body)).toMatchObject({ user: null, theme: 'dark', views: 0, length: 1, populated: true })
    expect(byStep['logout: ctx.session = null']!.cookie).toEqual({ kind: 'none' })
    expect(JSON.parse(byStep['after the callback login']!.body)).toMatchObject({ flash: 'Welcome back, cleo', user: 'cleo' })
    expect(JSON.parse(byStep['remembered: the flash, maxAge']!.body)).toMatchObject({ user: 'bob', maxAge: 30 * 24 * 3_600_000 })
    expect(byStep['remembered: counting on']!.cookie).toEqual({ kind: 'persistent', lifetimeMinutes: 30 * 24 * 60 })
    // CONFIG's rolling: false, renew: false, overwrite: true, signed: true, sameSite: null map without a word.
    expect(warnings).not.toHaveBeenCalled()
  })
})
