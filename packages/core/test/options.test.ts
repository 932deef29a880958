import { describe, expect, it } from 'vitest'
import { createEngine, parseDuration, SessionConfigError, type SessionOptions } from '@sesame/core'

const secret = 'options-test-secret-0123456789-abcdef'

function configError(options: unknown): SessionConfigError {
  try {
    createEngine(options as SessionOptions)
  } catch (error) {
    expect(error).toBeInstanceOf(SessionConfigError)
    expect((error as SessionConfigError).code).toBe('SESSION_CONFIG_INVALID')
    return error as SessionConfigError
  }
  throw new Error('expected a SessionConfigError')
}

describe('options are checked at start-up', () => {
  it('a missing or short secret says how long it must be, without echoing it', () => {
    expect(configError({}).message).toMatch(/`secret` option is required/)
    const short = configError({ secret: 'tooshort-but-secret' })
    expect(short.message).toMatch(/at least 32/)
    expect(short.message).not.toContain('tooshort-but-secret')
    expect(configError({ secret: [secret, 'short'] }).message).toMatch(/secret\[1\]/)
    expect(configError({ secret: [] }).message).toMatch(/empty array/)
    expect(configError({ secret: { 'bad id': secret } }).message).toMatch(/letters, digits and underscores/)
  })

  it('an unknown option (a typo) is named', () => {
    expect(configError({ secret, idleTimeOut: '5m' }).message).toMatch(/unknown option idleTimeOut/)
    expect(configError({ secret, cookie: { secur: true } }).message).toMatch(/unknown option cookie\.secur/)
  })

  it('negative, zero or unparseable durations are refused', () => {
    expect(configError({ secret, idleTimeout: -5 }).message).toMatch(/idleTimeout/)
    expect(configError({ secret, idleTimeout: '15 minutes' }).message).toMatch(/'15m'/)
    expect(configError({ secret, absoluteTimeout: 0 }).message).toMatch(/greater than zero/)
    expect(configError({ secret, absoluteTimeout: 'soon' }).message).toMatch(/absoluteTimeout/)
  })

  it('idleTimeout longer than absoluteTimeout is refused', () => {
    expect(configError({ secret, idleTimeout: '2h', absoluteTimeout: '1h' }).message).toMatch(/longer than `absoluteTimeout`/)
  })

  it('cookie settings that browsers would reject are refused', () => {
    expect(configError({ secret, cookie: { sameSite: 'none', secure: false } }).message).toMatch(/requires a Secure cookie/)
    expect(configError({ secret, cookie: { name: '__Host-sid', domain: 'example.com' } }).message).toMatch(/__Host-/)
    expect(configError({ secret, cookie: { name: 'bad name' } }).message).toMatch(/cookie token/)
    expect(configError({ secret, cookie: { path: 'relative' } }).message).toMatch(/start with "\/"/)
  })

  it('a store without the contract methods is refused', () => {
    expect(configError({ secret, store: { get() {} } }).message).toMatch(/no create\(\) method/)
  })

  it('valid options start, with the documented defaults', () => {
    const engine = createEngine({ secret })
    expect(engine.options.idleTimeout).toBe(30 * 60_000)
    expect(engine.options.absoluteTimeout).toBe(12 * 3_600_000)
    expect(engine.options.cookie).toMatchObject({ name: 'sid', path: '/', secure: 'auto', httpOnly: true, sameSite: 'Lax', partitioned: false })
    expect(engine.options.saveUninitialized).toBe(false)
    expect(engine.options.trustProxy('127.0.0.1', 0)).toBe(false) // no proxy believed
    expect(engine.options.maxSessionBytes).toBe(64 * 1024)
    void engine.close()
  })
})

describe('parseDuration', () => {
  it('reads milliseconds and unit strings', () => {
    expect(parseDuration(1500)).toBe(1500)
    expect(parseDuration('15m')).toBe(900_000)
    expect(parseDuration('1h30m')).toBe(5_400_000)
    expect(parseDuration('90s')).toBe(90_000)
    expect(parseDuration('2d')).toBe(172_800_000)
    expect(parseDuration('250ms')).toBe(250)
    expect(parseDuration('1000')).toBe(1000)
  })
  it('refuses what is not a duration', () => {
    for (const bad of ['', 'm', '15 minutes', '-5m', '5x', 'Infinity', NaN, -1, null, {}]) expect(parseDuration(bad), String(bad)).toBeUndefined()
  })
})
