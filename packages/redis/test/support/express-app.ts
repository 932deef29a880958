// A small real Express app on sesame, as a user would write it, for the HTTP-level Redis tests.
import { createServer, type Server } from 'node:http'
import express, { type NextFunction, type Request, type Response } from 'express'
import type { AuditEvent, SessionStore } from '@sesame/core'
import { session, type SessionMiddleware } from '@sesame/express'
import type { SessionOptions } from '@sesame/core'

export const secret = 'redis-http-test-secret-0123456789abcdef'

export interface RunningApp {
  server: Server
  sessions: SessionMiddleware
  events: AuditEvent[]
  close(): Promise<void>
}

export async function startApp(store: SessionStore, options: Partial<SessionOptions> = {}): Promise<RunningApp> {
  const events: AuditEvent[] = []
  const app = express()
  const sessions = session({ ...options, secret, store, audit: { hooks: [(event) => void events.push(event)] } })
  app.use(sessions)
  app.post('/set/:key', async (req: Request, res: Response) => {
    const delay = Number(req.query.delay ?? 0)
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay))
    req.session[req.params.key as string] = req.query.value ?? true
    res.json({ ok: true })
  })
  app.get('/data', (req: Request, res: Response) => {
    res.json({ data: { ...req.session }, userId: (req.session.meta as { userId?: string }).userId ?? null, isNew: req.session.isNew })
  })
  app.post('/login/:user', async (req: Request, res: Response) => {
    // ?delay=ms: the session is loaded, then the login waits (so a test can break Redis in between).
    const delay = Number(req.query.delay ?? 0)
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay))
    await req.session.login(req.params.user as string)
    res.json({ ok: true })
  })
  app.post('/logout', async (req: Request, res: Response) => {
    await req.session.logout()
    res.json({ ok: true })
  })
  app.use((error: { status?: number; code?: string }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(error.status ?? 500).json({ code: error.code ?? 'INTERNAL' })
  })
  const server = createServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    server,
    sessions,
    events,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await sessions.close()
    },
  }
}

export function cookieOf(res: { headers: Record<string, unknown> }): string | undefined {
  const header = res.headers['set-cookie'] as string[] | undefined
  return header?.find((line) => line.startsWith('sid='))?.split(';', 1)[0]
}
