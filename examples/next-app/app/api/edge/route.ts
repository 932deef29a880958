// The same core on the edge runtime: Web APIs only, no node: imports. The edge runtime is a
// separate sandbox with its own memory, so this route has its own instance, cookie and path
// (with the memory store, edge and Node routes cannot share sessions; use a shared store for that).
import { nextSession } from '@sesame/next'
import { nextSessionSecret } from '../../../lib/secret'

export const runtime = 'edge'

const edgeSessions = nextSession({
  secret: nextSessionSecret(),
  cookie: { name: 'edge_sid', path: '/api/edge' },
})

export const GET = edgeSessions.withSession(async (_request, { session }) => {
  session.hits = ((session.hits as number | undefined) ?? 0) + 1
  return Response.json({ hits: session.hits, runtime: typeof (globalThis as { EdgeRuntime?: string }).EdgeRuntime === 'string' ? 'edge' : 'node' })
})
