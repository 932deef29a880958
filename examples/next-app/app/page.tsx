// Home: a server component. The session is read-only here (server components cannot set cookies).
import { takenFlash } from '../lib/flash'
import { sessions } from '../lib/session'
import { users } from '../lib/users'
import { login, logout } from './actions'

type Search = Promise<Record<string, string | string[] | undefined>>

export default async function Home({ searchParams }: { searchParams: Search }) {
  const search = await searchParams
  const session = await sessions.getSession()
  const userId = session.meta.userId
  const count = (session.count as number | undefined) ?? 0
  const flash = search.error ? 'Wrong user name or password.' : ((await takenFlash()) ?? (search.next ? 'Please log in first.' : undefined))
  // A <div>, not a <p>: a <form> inside a <p> is not valid HTML, the browser closes the <p> before
  // the form, and React's hydration then finds another tree than it rendered.
  const counter = (
    <div className="line">
      Counter{userId ? '' : ' (works without logging in)'}: <span id="count">{count}</span>{' '}
      <form method="post" action="/count">
        <button>+1</button>
      </form>
    </div>
  )
  if (!userId) {
    return (
      <>
        <h1>sesame demo</h1>
        {flash && <p className="flash" id="flash">{flash}</p>}
        <form action={login}>
          <input type="hidden" name="next" value={typeof search.next === 'string' ? search.next : '/'} />
          <label>
            User <input name="username" autoComplete="username" />
          </label>{' '}
          <label>
            Password <input name="password" type="password" autoComplete="current-password" />
          </label>{' '}
          <button>Log in</button>
        </form>
        <p>Try alice / wonderland or bob / builder.</p>
        {counter}
      </>
    )
  }
  return (
    <>
      <h1 id="hello">Hello, {users[userId]?.name ?? userId}</h1>
      {flash && <p className="flash" id="flash">{flash}</p>}
      {typeof session.loggedInAt === 'string' && <p id="since">Logged in since {session.loggedInAt}</p>}
      {counter}
      <p>
        <a href="/sessions">Your active sessions</a>
      </p>
      <form action={logout}>
        <button>Log out</button>
      </form>
    </>
  )
}
