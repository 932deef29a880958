// The client address and protocol of fetch-style handlers, with sesame's trustProxy option:
// proxy-addr's semantics (Express's `trust proxy`), checked against Express's own answer where a
// socket exists, and for a Request that has none.
import { describe, expect, it } from 'vitest'
import proxyaddr from 'proxy-addr'
import { clientInfo, compileTrustProxy, isSecure, type RequestInfo, type TrustProxy } from '../src/client.js'
import { SessionConfigError } from '../src/errors.js'

const request = (forwardedFor: string | undefined, remoteAddress?: string, forwardedProto?: string): RequestInfo => ({
  cookie: undefined,
  encrypted: false,
  remoteAddress,
  forwardedFor,
  forwardedProto,
})
const ip = (trust: TrustProxy, forwardedFor: string | undefined, remoteAddress?: string) => clientInfo(request(forwardedFor, remoteAddress), compileTrustProxy(trust)).ip

/** What proxy-addr (so Express's req.ip) answers for the same hops. */
function expressIp(trust: TrustProxy, forwardedFor: string | undefined, remoteAddress: string): string {
  const compiled = trust === true ? () => true : trust === false ? () => false : typeof trust === 'number' ? (_a: string, i: number) => i < trust : proxyaddr.compile(typeof trust === 'string' ? trust.split(',').map((s) => s.trim()) : [...trust])
  const req = { headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }, connection: { remoteAddress }, socket: { remoteAddress } }
  return proxyaddr(req as never, compiled)
}

describe('trustProxy: the client address', () => {
  const appended = '6.6.6.6, 203.0.113.7' // a client-written entry, then what one appending proxy saw

  it('off by default: X-Forwarded-For is ignored', () => {
    expect(ip(false, appended, '10.0.0.2')).toBe('10.0.0.2')
    expect(ip(0, appended, '10.0.0.2')).toBe('10.0.0.2')
    expect(ip(false, appended)).toBeUndefined() // a Request without a socket: no address at all
  })

  it('a hop count walks X-Forwarded-For from the right: a client-written entry is never reached', () => {
    expect(ip(1, appended, '10.0.0.2')).toBe('203.0.113.7')
    expect(ip(2, '6.6.6.6, 203.0.113.7, 10.0.0.9', '10.0.0.2')).toBe('203.0.113.7')
    expect(ip(5, appended, '10.0.0.2')).toBe('6.6.6.6') // more hops than entries: the left-most
  })

  it('a list of proxy addresses and CIDRs: trusted hops are skipped, the first other one is the client', () => {
    expect(ip(['10.0.0.0/8'], appended, '10.0.0.2')).toBe('203.0.113.7')
    expect(ip('10.0.0.2, 10.0.0.9', '6.6.6.6, 203.0.113.7, 10.0.0.9', '10.0.0.2')).toBe('203.0.113.7')
    expect(ip(['loopback'], appended, '::ffff:127.0.0.1')).toBe('203.0.113.7')
    // A peer that is not a listed proxy: its forwarded headers are not believed.
    expect(ip(['10.0.0.0/8'], appended, '192.0.2.1')).toBe('192.0.2.1')
  })

  it('true trusts every hop: the left-most entry, which the client writes behind an appending proxy (unsafe there)', () => {
    expect(ip(true, appended, '10.0.0.2')).toBe('6.6.6.6')
  })

  it('answers as Express does (proxy-addr) for the same settings and hops', () => {
    const cases: Array<[TrustProxy, string | undefined, string]> = [
      [1, appended, '10.0.0.2'],
      [2, appended, '10.0.0.2'],
      [3, '1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4', '10.0.0.2'],
      [true, appended, '10.0.0.2'],
      [false, appended, '10.0.0.2'],
      [['10.0.0.0/8', '2001:db8::/32'], '6.6.6.6, 2001:db8::5, 10.1.1.1', '10.0.0.2'],
      ['uniquelocal', '6.6.6.6, 192.168.1.1', '172.16.0.1'],
      [1, undefined, '10.0.0.2'],
      [1, ' 203.0.113.7 ', '10.0.0.2'],
    ]
    for (const [trust, forwardedFor, remote] of cases) expect(ip(trust, forwardedFor, remote), JSON.stringify([trust, forwardedFor])).toBe(expressIp(trust, forwardedFor, remote))
  })

  it('a Request without a socket: its peer is taken to be the nearest proxy', () => {
    expect(ip(1, appended)).toBe('203.0.113.7')
    expect(ip(['10.0.0.0/8'], '6.6.6.6, 203.0.113.7, 10.0.0.9')).toBe('203.0.113.7')
    expect(ip(true, appended)).toBe('6.6.6.6')
  })

  it('IPv4-mapped IPv6 addresses are reported as IPv4', () => {
    expect(ip(false, undefined, '::ffff:192.0.2.4')).toBe('192.0.2.4')
  })

  it('a bad setting is a SessionConfigError at start-up, naming the problem', () => {
    expect(() => compileTrustProxy(['10.0.0.0/33'])).toThrow(SessionConfigError)
    expect(() => compileTrustProxy('not-an-address')).toThrow(/trustProxy.*invalid IP address/)
    expect(() => compileTrustProxy(-1)).toThrow(/whole number/)
    expect(() => compileTrustProxy(1.5)).toThrow(SessionConfigError)
    expect(() => compileTrustProxy({} as never)).toThrow(SessionConfigError)
  })
})

describe('trustProxy: the protocol', () => {
  const secure = (trust: TrustProxy, proto: string | undefined, remote?: string) => isSecure(request(undefined, remote, proto), compileTrustProxy(trust))

  it('X-Forwarded-Proto only from a trusted peer (its first value, as Express)', () => {
    expect(secure(false, 'https', '10.0.0.2')).toBe(false)
    expect(secure(1, 'https', '10.0.0.2')).toBe(true)
    expect(secure(1, 'https, http', '10.0.0.2')).toBe(true)
    expect(secure(['10.0.0.0/8'], 'https', '192.0.2.1')).toBe(false)
    expect(secure(1, 'https')).toBe(true) // a Request: the peer is the proxy
    expect(secure(false, 'https')).toBe(false)
  })

  it('an encrypted connection is always secure', () => {
    expect(isSecure({ cookie: undefined, encrypted: true, forwardedProto: 'http' }, compileTrustProxy(1))).toBe(true)
  })
})
