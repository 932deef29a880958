// Your active sessions: a server component in the area proxy.ts guards. The proxy's check is
// optimistic (cookie only); this page's own check against the store is the one that counts.
import { redirect } from 'next/navigation'
import { sessions } from '../../lib/session'
import { users } from '../../lib/users'
import { revokeOtherSessions, revokeSession } from '../actions'

export default async function SessionsPage() {
  const session = await sessions.getSession()
  const userId = session.meta.userId
  if (!userId) redirect('/?next=/sessions')
  const list = await sessions.engine.listUserSessions(userId, { current: session.id })
  return (
    <>
      <h1>{users[userId]?.name ?? userId}&apos;s active sessions</h1>
      <table>
        <tbody>
          <tr>
            <th>Device</th>
            <th>Address</th>
            <th>Last active</th>
            <th></th>
          </tr>
          {list.map((entry) => (
            <tr key={entry.ref}>
              <td>{entry.current ? <b>this browser</b> : (entry.userAgent ?? 'unknown')}</td>
              <td>{entry.ip ?? ''}</td>
              <td>{new Date(entry.lastActiveAt).toISOString()}</td>
              <td>
                {!entry.current && (
                  <form action={revokeSession}>
                    <input type="hidden" name="ref" value={entry.ref} />
                    <button>Revoke</button>
                  </form>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form action={revokeOtherSessions}>
        <button>Log out everywhere else</button>
      </form>
      <p>
        <a href="/">Back</a>
      </p>
    </>
  )
}
