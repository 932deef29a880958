// What a framework must provide to run the conformance suite: serve `routes` with sesame on a real
// HTTP server. Everything else (requests, assertions) is shared.
import type { Server } from 'node:http'
import type { Engine, SessionOptions } from '@sesame/core'

export interface RunningApp {
  server: Server
  engine: Engine
  close(): Promise<void>
}

/** How the app is deployed, set the way users of its framework set it. */
export interface AppSettings {
  /**
   * The app sits behind this many proxies it trusts (`true`: trust every hop), each appending to
   * X-Forwarded-For. Express: `app.set('trust proxy', n)`; Koa: `app.proxy = true`,
   * `app.maxIpsCount = n`; fetch handlers: sesame's `trustProxy: n`.
   */
  trustedProxies?: number | true
}

export interface Harness {
  name: string
  start(options: SessionOptions, settings?: AppSettings): Promise<RunningApp>
}

/** Error bodies every harness sends: the typed error's code, never its message (which may be long). */
export function errorBody(error: unknown): { status: number; body: { code: string } } {
  const status = Number((error as { status?: unknown })?.status) || 500
  const code = String((error as { code?: unknown })?.code ?? 'INTERNAL')
  return { status, body: { code } }
}
