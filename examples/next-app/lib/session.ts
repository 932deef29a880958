// The app's one sesame instance, shared by pages, server actions, route handlers and proxy.ts.
import { memoryStore } from '@sesame/core'
import { nextSession } from '@sesame/next'
import { auditSink } from './audit'
import { building, nextSessionSecret } from './secret'

export const sessions = nextSession({
  secret: nextSessionSecret(),
  // A factory: built once per process, even when `next dev` reloads this module.
  store: () => memoryStore({ max: 10_000 }),
  idleTimeout: process.env.SESSION_IDLE_TIMEOUT ?? '30m',
  absoluteTimeout: '12h',
  // A Request has no socket: the client address comes from X-Forwarded-For, which `next start`
  // fills with the connection's address when the client sent none. Without a proxy in front that
  // overwrites X-Forwarded-For, a client can write its own there: see README, "Client address".
  trustProxy: true,
  // Not while `next build` evaluates this module: it would open (and create) the audit file.
  audit: building ? undefined : { sinks: [auditSink()] },
})
