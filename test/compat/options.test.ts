// express-session's and koa-session's options at start-up: each maps onto sesame, or is accepted
// with ONE warning saying what sesame does instead, or (only when it would weaken security) is
// refused with a SessionConfigError saying why and what to use.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { SessionConfigError } from '@sesame/core'
import { session as expressSession } from '@sesame/express'
import { session as koaSession } from '@sesame/koa'
import Koa from 'koa'

const secret = 'compat-options-secret-0123456789-abcdef'
let warn: ReturnType<typeof vi.spyOn>
const started: Array<{ close(): Promise<void> }> = []

afterEach(async () => {
  for (const middleware of started.splice(0)) await middleware.close()
  vi.restoreAllMocks()
})

function express(options: Record<string, unknown>) {
  warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
  const middleware = expressSession({ secret, ...options } as never)
  started.push(middleware)
  return middleware
}

function koa(options: Record<string, unknown>, app?: Koa) {
  warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
  const middleware = app ? koaSession({ secret, ...options } as never, app) : koaSession({ secret, ...options } as never)
  started.push(middleware)
  return middleware
}

function refused(start: () => unknown): SessionConfigError {
  try {
    start()
  } catch (error) {
    expect(error).toBeInstanceOf(SessionConfigError)
    expect((error as SessionConfigError).code).toBe('SESSION_CONFIG_INVALID')
    return error as SessionConfigError
  }
  throw new Error('expected a SessionConfigError')
}

const warnings = () => warn.mock.calls.map((call: unknown[]) => String(call[0]))

describe('express-session options', () => {
  it('the options nearly every app passes start without a word, mapped onto sesame', () => {
    const middleware = express({ resave: false, saveUninitialized: true, name: 'app.sid', unset: 'destroy', rolling: false, cookie: { maxAge: 86_400_000, secure: 'auto', httpOnly: true, sameSite: true, path: '/', domain: 'example.com' } })
    expect(warnings()).toEqual([])
    const options = middleware.engine.options
    expect(options.saveUninitialized).toBe(true)
    expect(options.remember).toBe(86_400_000)
    expect(options.cookie).toMatchObject({ name: 'app.sid', sameSite: 'Strict', domain: 'example.com', httpOnly: true })
  })

  it('options sesame does differently are accepted with one warning each, saying what it does instead', () => {
    express({ resave: true, rolling: true, unset: 'keep', proxy: true, genid: () => 'x', cookie: { expires: new Date(Date.now() + 1000), priority: 'high' } })
    const lines = warnings()
    expect(lines).toHaveLength(7)
    expect(lines.find((l: string) => l.includes('`proxy: true`'))).toMatch(/Express's req\.protocol and req\.ip.*trust proxy/)
    expect(lines.find((l: string) => l.includes('`resave: true`'))).toMatch(/only keys whose value changed are written/)
    expect(lines.find((l: string) => l.includes('`rolling: true`'))).toMatch(/idle timeout already rolls on the server/)
    expect(lines.find((l: string) => l.includes("`unset: 'keep'`"))).toMatch(/req\.session = null.*destroys/)
    expect(lines.find((l: string) => l.includes('`genid`'))).toMatch(/144 random bits/)
    expect(lines.find((l: string) => l.includes('`cookie.expires`'))).toMatch(/cookie\.maxAge/)
    expect(lines.find((l: string) => l.includes('`cookie.priority`'))).toMatch(/no Priority attribute/)
    for (const line of lines) expect(line).toMatch(/^sesame: express-session option `[^`]+` is accepted but not copied: /)
  })

  it('a cookie.maxAge past rememberMaxAge is capped, with a warning naming the option to raise', () => {
    const middleware = express({ cookie: { maxAge: 365 * 86_400_000 } })
    expect(middleware.engine.options.remember).toBe(30 * 86_400_000)
    expect(warnings()[0]).toMatch(/rememberMaxAge/)
    const raised = express({ cookie: { maxAge: 90 * 86_400_000 }, rememberMaxAge: '90d' })
    expect(raised.engine.options.remember).toBe(90 * 86_400_000)
  })

  it("express-session's 'keyboard cat' secret is refused with how long it must be", () => {
    expect(refused(() => expressSession({ secret: 'keyboard cat', resave: false } as never)).message).toMatch(/at least 32/)
  })

  it('a typo is still named', () => {
    expect(refused(() => express({ resav: false })).message).toMatch(/unknown option resav/)
    expect(refused(() => express({ cookie: { maxage: 1 } })).message).toMatch(/unknown option cookie\.maxage/)
  })
})

describe('koa-session options', () => {
  it("the README's CONFIG starts without a word", () => {
    const middleware = koa({ key: 'koa.sess', maxAge: 86_400_000, autoCommit: true, overwrite: true, httpOnly: true, signed: true, rolling: false, renew: false, secure: true })
    expect(warnings()).toEqual([])
    expect(middleware.engine.options.cookie).toMatchObject({ name: 'koa.sess', secure: true, httpOnly: true })
    expect(middleware.engine.options.remember).toBe(86_400_000)
  })

  it("maxAge: 'session' is a browser-session cookie; session(app) without maxAge says koa-session's default day is not copied", () => {
    expect(koa({ maxAge: 'session' }).engine.options.remember).toBeUndefined()
    expect(warnings()).toEqual([])
    koa({}, new Koa())
    expect(warnings()).toHaveLength(1)
    expect(warnings()[0]).toMatch(/default persistent one-day cookie is not copied/)
  })

  it('options sesame does differently are accepted with one warning each', () => {
    koa({ renew: true, rolling: true, overwrite: false, signed: false, genid: () => 'x', prefix: 'p:' })
    const lines = warnings()
    expect(lines).toHaveLength(6)
    for (const line of lines) expect(line).toMatch(/^sesame: koa-session option `[^`]+` is accepted but not copied: /)
    expect(lines.find((l: string) => l.includes('`signed: false`'))).toMatch(/always sealed/)
  })

  it('data in the cookie (encode/decode) and keys from elsewhere (externalKey) are refused, saying why and what to use', () => {
    const encode = refused(() => koa({ encode: (s: unknown) => JSON.stringify(s), decode: (s: string) => JSON.parse(s) }))
    expect(encode.message).toMatch(/session data into the cookie/)
    expect(encode.message).toMatch(/remove it/)
    expect(refused(() => koa({ externalKey: { get: () => 'k', set: () => {} } })).message).toMatch(/without the seal's authentication/)
    expect(refused(() => koa({ ContextStore: class {} })).message).toMatch(/Pass one `store`/)
  })

  it('hooks and autoCommit must be what koa-session takes', () => {
    expect(refused(() => koa({ valid: true })).message).toMatch(/`valid` must be a function/)
    expect(refused(() => koa({ autoCommit: 'no' })).message).toMatch(/autoCommit/)
    expect(refused(() => koa({ maxAge: '1 day' })).message).toMatch(/maxAge/)
  })
})
