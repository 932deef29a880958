// Login for scripts and API clients (the page's form uses the server action in app/actions.ts).
// POST username and password as a form or JSON; answers 200 with the user, or 401.
import { sessions } from '../../../lib/session'
import { checkLogin } from '../../../lib/users'

export const POST = sessions.withSession(async (request, { session }) => {
  const type = request.headers.get('content-type') ?? ''
  const body = type.includes('application/json')
    ? ((await request.json().catch(() => ({}))) as Record<string, unknown>)
    : Object.fromEntries(await request.formData().catch(() => new FormData()))
  const user = checkLogin(body.username, body.password)
  if (!user) return Response.json({ error: 'Wrong user name or password.' }, { status: 401 })
  await session.login(user)
  return Response.json({ user })
})
