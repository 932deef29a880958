// The counter as JSON: every GET counts.
import { sessions } from '../../../lib/session'

export const dynamic = 'force-dynamic'

export const GET = sessions.withSession(async (_request, { session }) => {
  session.count = ((session.count as number | undefined) ?? 0) + 1
  return Response.json({ count: session.count, user: session.meta.userId ?? null })
})
