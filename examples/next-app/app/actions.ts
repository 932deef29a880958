'use server'
// Server actions: the writable session. login(), logout() and save() set the cookie themselves.
import { redirect } from 'next/navigation'
import { sessions } from '../lib/session'
import { checkLogin } from '../lib/users'

/** Only same-site paths: `?next=//evil.example` must not become an open redirect. */
function safeNext(value: FormDataEntryValue | null): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') ? value : '/'
}

export async function login(form: FormData): Promise<void> {
  const user = checkLogin(form.get('username'), form.get('password'))
  if (!user) redirect('/?error=login')
  const session = await sessions.getSession({ writable: true })
  // New id, user bound, `session.login` audit event: the pre-login id is dead from here on.
  await session.login(user)
  redirect(safeNext(form.get('next')))
}

export async function logout(): Promise<void> {
  const session = await sessions.getSession({ writable: true })
  await session.logout()
  redirect('/?loggedOut=1')
}

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
