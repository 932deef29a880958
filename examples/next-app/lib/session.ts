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
  // fills with the connection's address when the client sent none. 1: believe the right-most entry
  // only (what the nearest hop saw), so behind one proxy that appends (nginx's default) a client's
  // own X-Forwarded-For is never taken; reached directly, a client can still write its own there
  // (see README, "Client address").
  trustProxy: 1,
  // Not while `next build` evaluates this module: it would open (and create) the audit file.
  audit: building ? undefined : { sinks: [auditSink()] },
})
