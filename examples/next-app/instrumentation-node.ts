// Start-up on the Node runtime (see instrumentation.ts):
// - A missing or short SESSION_SECRET stops the start with one line that says how to make one
//   (otherwise Next prints Ready and then every request fails when lib/session.ts is first loaded).
// - The audit sink is opened now (a wrong AUDIT_LOG path fails here too), and closed on SIGTERM or
//   SIGINT, which writes out what it still holds and ends its file cleanly for `sesame-audit verify`.
import { auditSink } from './lib/audit'
import { sessionSecret } from './lib/secret'

const checked = sessionSecret(process.env)
if ('problem' in checked) {
  console.error(checked.problem)
  process.exit(1)
}

const sink = auditSink()

// `next start` exits on SIGTERM/SIGINT as soon as its server has closed, without waiting for
// anything of the app's, which is too soon for the sink's last write. NEXT_MANUAL_SIG_HANDLE (set by
// this app's `start` script) is Next's switch that leaves the signals to the app: close the
// sessions (which hands the sink the events still held back, e.g. coalesced rejections, and closes
// it), then exit. Without the switch this still runs, but Next usually exits first and the file
// ends open (its last events written, no close record).
async function shutdown(): Promise<void> {
  // Imported here, not at the top: lib/session.ts throws on a bad secret, and the check above must
  // be the one that reports it.
  const { sessions } = await import('./lib/session')
  await sessions.close()
  await sink.close() // the same sink; also when no request ever created the engine
  if (process.env.NEXT_MANUAL_SIG_HANDLE) process.exit(0)
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutdown())
