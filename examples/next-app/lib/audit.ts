// The app's audit trail: encrypted, hash-chained lines (fileSink from @sesame/audit-log), read with
// `npx sesame-audit query --key-file .sesame-audit/key audit.log`. Node only: the edge route has
// its own instance without it.
import { fileSink, type FileSink } from '@sesame/audit-log'

const KEY = Symbol.for('next-app:audit-sink')

/**
 * One sink per server process. lib/session.ts is evaluated once per bundle that imports it (pages,
 * server actions, proxy.ts, instrumentation.ts), and fileSink opens its file at once: the sink is kept
 * on globalThis, as nextSession keeps its instance, so every bundle writes through the same one.
 */
export function auditSink(): FileSink {
  const registry = globalThis as unknown as Record<symbol, FileSink | undefined>
  return (registry[KEY] ??= fileSink({ path: process.env.AUDIT_LOG ?? 'audit.log' }))
}
