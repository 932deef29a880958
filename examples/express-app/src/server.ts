// `pnpm --filter express-app start`: the example on the memory store.
import { fileSink } from '@sesame/audit-log'
import { createApp } from './app.js'

const secret = process.env.SESSION_SECRET ?? 'demo-only-secret-change-me-0123456789abcdef'
if (!process.env.SESSION_SECRET) console.warn('SESSION_SECRET is not set: using a demo secret (never do this in production).')
const port = Number(process.env.PORT ?? 3000)

// The audit trail: encrypted, hash-chained lines; read it with `sesame-audit query <file>`.
const auditLog = process.env.AUDIT_LOG ?? 'audit.log'
const { app, sessions } = createApp({ secret, audit: { sinks: [fileSink({ path: auditLog })] } })
const server = app.listen(port, '127.0.0.1', () => {
  console.log(`sesame express example on http://127.0.0.1:${port}
  - log in as alice / wonderland or bob / builder (form on the home page)
  - press +1 to count (the count lives in your server-side session)
  - /sessions lists your active sessions; log in from a second browser and revoke it
  - /api/count counts as JSON
Audit trail: ${auditLog} (read it with: npx sesame-audit query ${auditLog})
Press Ctrl+C to stop.`)
})

async function shutdown() {
  // Stop accepting, let requests in flight finish (at most 10 s), then flush the audit sink:
  // no event of an accepted request is lost.
  const drained = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()
  await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 10_000).unref())])
  await sessions.close()
  process.exit(0)
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
