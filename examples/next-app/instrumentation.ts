// Runs once when the server starts (`next start`, `next dev`), before it serves a request. What it
// does needs Node (process.exit, signals), so it lives in instrumentation-node.ts, loaded only there:
// Next also compiles this file for the edge runtime.
export async function register() {
  if (process.env.NEXT_RUNTIME === 'nodejs') await import('./instrumentation-node')
}
