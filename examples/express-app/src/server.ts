// `pnpm --filter express-app start`: the example on the memory store.
import type { AddressInfo } from 'node:net'
import { fileSink } from '@sesame/audit-log'
import { SessionConfigError } from '@sesame/core'
import { createApp } from './app.js'
import { sessionSecret } from './secret.js'

// A missing or short SESSION_SECRET (or any other bad option) stops the start with one line, no stack.
function fail(line: string): never {
  console.error(line)
  process.exit(1)
}
const checked = sessionSecret(process.env)
if ('problem' in checked) fail(checked.problem)
const { secret } = checked
const port = Number(process.env.PORT ?? 3000)

// The audit trail: encrypted, hash-chained lines; read it with `sesame-audit query <file>`.
const auditLog = process.env.AUDIT_LOG ?? 'audit.log'
function configured() {
  try {
    return createApp({ secret, audit: { sinks: [fileSink({ path: auditLog })] } })
  } catch (error) {
    if (error instanceof SessionConfigError) fail(error.message)
    throw error
  }
}
const { app, sessions } = configured()
const server = app.listen(port, '127.0.0.1', () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  console.log(`sesame express example on ${url}
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
