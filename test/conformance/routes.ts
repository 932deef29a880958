// The app every harness serves: the same routes, written once against the framework-neutral
// session object. Each harness only translates a RouteResult into its framework's response.
import type { Session } from '@sesame/core'

export type RouteResult =
  | { json: unknown; status?: number }
  | { redirect: string }
  | { stream: string[] }

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function delay(query: URLSearchParams): Promise<void> {
  const ms = Number(query.get('delay') ?? 0)
  if (ms > 0) await sleep(ms)
}

function data(session: Session): Record<string, unknown> {
  return { ...session }
}

export const routes: Record<string, (session: Session, query: URLSearchParams) => Promise<RouteResult>> = {
  '/count': async (session, query) => {
    await delay(query)
    session.n = ((session.n as number | undefined) ?? 0) + 1
    return { json: { n: session.n } }
  },
  '/id': async (session) => ({ json: { id: session.id } }),
  '/read': async (session, query) => {
    await delay(query)
    return { json: { data: data(session), isNew: session.isNew, meta: session.meta } }
  },
  '/set': async (session, query) => {
    await delay(query)
    const key = query.get('key') ?? 'k'
    const value = query.get('value')
    session[key] = value === null ? true : JSON.parse(value)
    return { json: { ok: true } }
  },
  '/unset': async (session, query) => {
    await delay(query)
    delete session[query.get('key') ?? 'k']
    return { json: { ok: true } }
  },
  '/touch': async (session, query) => {
    await delay(query)
    session.touch()
    return { json: { ok: true } }
  },
  '/login': async (session, query) => {
    await session.login(query.get('user') ?? 'alice')
    return { json: { user: session.meta.userId } }
  },
  '/logout': async (session) => {
    await session.logout()
    return { json: { ok: true } }
  },
  '/destroy': async (session) => {
    await session.destroy()
    return { json: { ok: true } }
  },
  '/regenerate': async (session) => {
    await session.regenerate()
    return { json: { ok: true } }
  },
  '/redirect': async (session) => {
    session.flash = 'saved before the redirect'
    return { redirect: '/read' }
  },
  '/stream': async (session) => {
    session.streamed = true
    return { stream: ['one ', 'two ', 'three'] }
  },
  '/bad': async (session, query) => {
    const kind = query.get('kind')
    if (kind === 'function') session.bad = () => 1
    else if (kind === 'bigint') session.bad = { n: 10n }
    else if (kind === 'cycle') {
      const cycle: Record<string, unknown> = {}
      cycle.self = cycle
      session.bad = cycle
    } else if (kind === 'big') session.bad = 'x'.repeat(70 * 1024)
    else if (kind === 'reserved') (session as Record<string, unknown>).id = 'chosen-by-app'
    return { json: { ok: true } }
  },
}
