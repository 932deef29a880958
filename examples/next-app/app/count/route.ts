// The counter's form target: a route handler. Response.redirect has immutable headers;
// withSession re-wraps it to add the cookie.
import { sessions } from '../../lib/session'

export const POST = sessions.withSession(async (request, { session }) => {
  session.count = ((session.count as number | undefined) ?? 0) + 1
  return Response.redirect(new URL('/', request.url), 303)
})
