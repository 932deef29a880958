// The client address and protocol come from Koa's own settings (app.proxy, app.maxIpsCount); sesame's
// trustProxy option is ignored here, and said so once at start-up.
import { createServer } from 'node:http'
import Koa from 'koa'
import Koa2 from 'koa2'
import request from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import { memoryStore, type AuditEvent, type MemoryStore } from '@sesame/core'
import { session } from '@sesame/koa'

const secret = 'koa-adapter-test-secret-long-enough-123'

describe("@sesame/koa: Koa's app.proxy and maxIpsCount decide the client address and protocol", () => {
  const stores: MemoryStore[] = []
  afterEach(() => {
    for (const store of stores.splice(0)) store.close()
  })

  function app(KoaClass: typeof Koa, proxy: boolean, maxIpsCount: number, trustProxy?: boolean) {
    const store = memoryStore()
    stores.push(store)
    const events: AuditEvent[] = []
    const instance = new KoaClass({ proxy, maxIpsCount })
    instance.use(session({ secret, store, audit: { hooks: [(event) => void events.push(event)] }, ...(trustProxy === undefined ? {} : { trustProxy }) }))
    instance.use(async (ctx) => {
      ctx.session.n = 1
      ctx.body = { ip: ctx.ip, protocol: ctx.protocol }
    })
    return { server: createServer(instance.callback()), events }
  }
  const forwarded = { 'X-Forwarded-For': '6.6.6.6, 203.0.113.7', 'X-Forwarded-Proto': 'https' }

  for (const [label, KoaClass] of [['Koa 3', Koa], ['Koa 2', Koa2 as unknown as typeof Koa]] as const) {
    it(`${label}: the audit ip and Secure follow ctx.ip and ctx.protocol for each setting`, async () => {
      for (const [proxy, maxIpsCount, ip, secure] of [[false, 0, '127.0.0.1', false], [true, 1, '203.0.113.7', true], [true, 0, '6.6.6.6', true]] as const) {
        const { server, events } = app(KoaClass, proxy, maxIpsCount)
        const res = await request(server).get('/').set(forwarded)
        const setting = `proxy ${proxy}, maxIpsCount ${maxIpsCount}`
        expect(res.body.ip.replace('::ffff:', ''), setting).toBe(ip)
        expect(events.at(-1)!.ip, setting).toBe(ip)
        const cookie = (res.headers['set-cookie'] as unknown as string[]).find((line) => line.startsWith('sid='))!
        expect(/; Secure/.test(cookie), setting).toBe(secure)
      }
    })
  }

  it("sesame's trustProxy is ignored, with one process warning naming Koa's settings", async () => {
    const warnings: Error[] = []
    const listener = (warning: Error) => void warnings.push(warning)
    process.on('warning', listener)
    try {
      const { server, events } = app(Koa, false, 0, true)
      app(Koa, false, 0, true)
      await request(server).get('/').set(forwarded)
      expect(events.at(-1)!.ip).toBe('127.0.0.1')
      await new Promise((resolve) => setImmediate(resolve))
      const ours = warnings.filter((warning) => (warning as Error & { code?: string }).code === 'SESAME_TRUST_PROXY_IGNORED')
      expect(ours).toHaveLength(1)
      expect(ours[0]!.message).toContain('app.proxy = true')
    } finally {
      process.off('warning', listener)
    }
  })
})
