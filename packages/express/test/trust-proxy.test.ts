// The client address and protocol come from Express's own `trust proxy` setting; sesame's trustProxy
// option is ignored here, and saying so once at start-up beats a setting that silently does nothing.
import { createServer } from 'node:http'
import express, { type Request, type Response } from 'express'
import request from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import { memoryStore, type AuditEvent, type MemoryStore } from '@sesame/core'
import { session } from '@sesame/express'

const secret = 'express-adapter-test-secret-0123456789'

describe("@sesame/express: Express's trust proxy decides the client address and protocol", () => {
  const stores: MemoryStore[] = []
  afterEach(() => {
    for (const store of stores.splice(0)) store.close()
  })

  function app(trust: unknown, trustProxy?: boolean) {
    const store = memoryStore()
    stores.push(store)
    const events: AuditEvent[] = []
    const instance = express()
    instance.set('trust proxy', trust)
    instance.use(session({ secret, store, audit: { hooks: [(event) => void events.push(event)] }, ...(trustProxy === undefined ? {} : { trustProxy }) }))
    instance.get('/', (req: Request, res: Response) => {
      req.session.n = 1
      res.json({ ip: req.ip, protocol: req.protocol })
    })
    return { server: createServer(instance), events }
  }
  const forwarded = { 'X-Forwarded-For': '6.6.6.6, 203.0.113.7', 'X-Forwarded-Proto': 'https' }

  it('the audit ip and Secure follow req.ip and req.protocol for each setting', async () => {
    for (const [trust, ip, secure] of [[false, '127.0.0.1', false], [1, '203.0.113.7', true], ['loopback', '203.0.113.7', true], [true, '6.6.6.6', true]] as const) {
      const { server, events } = app(trust)
      const res = await request(server).get('/').set(forwarded)
      expect(res.body.ip, String(trust)).toBe(ip)
      expect(events.at(-1)!.ip, String(trust)).toBe(ip)
      const cookie = (res.headers['set-cookie'] as unknown as string[]).find((line) => line.startsWith('sid='))!
      expect(/; Secure/.test(cookie), String(trust)).toBe(secure)
    }
  })

  it("sesame's trustProxy is ignored, with one process warning naming Express's setting", async () => {
    const warnings: Error[] = []
    const listener = (warning: Error) => void warnings.push(warning)
    process.on('warning', listener)
    try {
      const { server, events } = app(false, true)
      app(false, true)
      await request(server).get('/').set(forwarded)
      expect(events.at(-1)!.ip).toBe('127.0.0.1')
      await new Promise((resolve) => setImmediate(resolve))
      const ours = warnings.filter((warning) => (warning as Error & { code?: string }).code === 'SESAME_TRUST_PROXY_IGNORED')
      expect(ours).toHaveLength(1)
      expect(ours[0]!.message).toContain("app.set('trust proxy'")
    } finally {
      process.off('warning', listener)
    }
  })
})
