'use server'
// Server actions. Two ways to get the writable session:
// - sessions.action(fn): the session is fn's first argument and is committed when fn ends
//   (returns or redirects), so plain data writes need nothing more;
// - getSession({ writable: true }): login(), logout(), destroy(), regenerate() and save() each
//   commit and set the cookie before they resolve.
import { redirect } from 'next/navigation'
import { markFlash } from '../lib/flash'
import { sessions } from '../lib/session'
import { checkLogin } from '../lib/users'

/** Only same-site paths: `?next=//evil.example` must not become an open redirect. */
function safeNext(value: FormDataEntryValue | null): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') ? value : '/'
}

export const login = sessions.action(async (session, form: FormData): Promise<void> => {
  const user = checkLogin(form.get('username'), form.get('password'))
  if (!user) redirect('/?error=login')
  // New id, user bound, `session.login` audit event: the pre-login id is dead from here on.
  await session.login(user)
  session.loggedInAt = new Date().toISOString() // saved when the action ends (here: at the redirect)
  redirect(safeNext(form.get('next')))
})

export const logout = sessions.action(async (session): Promise<void> => {
  await session.logout()
  // A one-time message in the fresh session that follows, shown once by the home page (lib/flash.ts).
  session.flash = 'You have been logged out.'
  await markFlash()
  redirect('/')
})

export async function revokeSession(form: FormData): Promise<void> {
  const session = await sessions.getSession({ writable: true })
  const user = session.meta.userId
  if (!user) redirect('/')
  await sessions.engine.revokeSession(user, String(form.get('ref') ?? ''))
  redirect('/sessions')
}

export async function revokeOtherSessions(): Promise<void> {
  const session = await sessions.getSession({ writable: true })
  const user = session.meta.userId
  if (!user) redirect('/')
  await sessions.engine.revokeUserSessions(user, { except: session.id })
  redirect('/sessions')
}
