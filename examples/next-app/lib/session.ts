// The app's one sesame instance, shared by pages, server actions, route handlers and proxy.ts.
import { memoryStore } from '@sesame/core'
import { nextSession } from '@sesame/next'

if (!process.env.SESSION_SECRET && process.env.NODE_ENV === 'production') {
  console.warn('SESSION_SECRET is not set: using a demo secret (never do this in production).')
}

export const sessions = nextSession({
  secret: process.env.SESSION_SECRET ?? 'demo-only-secret-change-me-0123456789abcdef',
  // A factory: built once per process, even when `next dev` reloads this module.
  store: () => memoryStore({ max: 10_000 }),
  idleTimeout: process.env.SESSION_IDLE_TIMEOUT ?? '30m',
  absoluteTimeout: '12h',
})
