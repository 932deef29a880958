// The example app on Koa: the same pages as examples/express-app, with ctx.session.
// Routing and form parsing are a few lines here so the example needs nothing but koa.
import Koa, { type Context } from 'koa'
import { session, type SessionOptions } from '@sesame/koa'
import { checkLogin, users } from './users.js'
import * as views from './views.js'

type Handler = (ctx: Context) => unknown | Promise<unknown>

/** A urlencoded form body (the pages' forms), at most 16 KB. */
async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) return new URLSearchParams()
  let text = ''
  for await (const chunk of ctx.req) {
    text += chunk
    if (text.length > 16 * 1024) ctx.throw(413, 'Form too large')
  }
  return new URLSearchParams(text)
}

export function createApp(options: SessionOptions) {
  const app = new Koa()
  const sessions = session(options)
  const userOf = (ctx: Context) => ctx.session.meta.userId

  const redirect = (ctx: Context, to: string) => {
    ctx.status = 303
    ctx.redirect(to)
  }
  const requireUser = (handler: Handler): Handler => (ctx) => {
    if (userOf(ctx)) return handler(ctx)
    ctx.session.flash = 'Please log in first.'
    redirect(ctx, '/')
  }

  const routes: Record<string, Handler> = {
    'GET /': (ctx) => {
      const flash = ctx.session.flash as string | undefined
      if (flash) delete ctx.session.flash
      const user = userOf(ctx)
      ctx.type = 'html'
      ctx.body = views.home({ user: user && users[user]?.name, count: (ctx.session.count as number) ?? 0, flash })
    },
    'POST /login': async (ctx) => {
      const form = await readForm(ctx)
      const user = checkLogin(form.get('username'), form.get('password'))
      if (!user) {
        ctx.session.flash = 'Wrong user name or password.'
        return redirect(ctx, '/')
      }
      // New id, user bound, `session.login` audit event: the pre-login id is dead from here on.
      await ctx.session.login(user)
      ctx.session.flash = `Logged in as ${users[user]!.name}.`
      redirect(ctx, '/')
    },
    'POST /logout': async (ctx) => {
      await ctx.session.logout()
      ctx.session.flash = 'You have been logged out.'
      redirect(ctx, '/')
    },
    'POST /count': (ctx) => {
      ctx.session.count = ((ctx.session.count as number) ?? 0) + 1
      redirect(ctx, '/')
    },
    'GET /api/count': (ctx) => {
      ctx.session.count = ((ctx.session.count as number) ?? 0) + 1
      ctx.body = { count: ctx.session.count, user: userOf(ctx) ?? null }
    },
    'GET /sessions': requireUser(async (ctx) => {
      const user = userOf(ctx)!
      const list = await sessions.engine.listUserSessions(user, { current: ctx.session.id })
      ctx.type = 'html'
      ctx.body = views.sessions(users[user]!.name, list)
    }),
    'POST /sessions/revoke': requireUser(async (ctx) => {
      const form = await readForm(ctx)
      await sessions.engine.revokeSession(userOf(ctx)!, form.get('ref') ?? '')
      redirect(ctx, '/sessions')
    }),
    'POST /sessions/revoke-others': requireUser(async (ctx) => {
      await sessions.engine.revokeUserSessions(userOf(ctx)!, { except: ctx.session.id })
      redirect(ctx, '/sessions')
    }),
  }

  // Outermost: store failures arrive here as SessionStoreUnavailable (status 503), never as a silent logout.
  app.use(async (ctx, next) => {
    try {
      await next()
    } catch (error) {
      const { status = 500, code } = error as { status?: number; code?: string }
      if (status >= 500) console.error(`request failed: ${code ?? 'error'}`)
      ctx.status = status
      ctx.type = 'text'
      ctx.body = status === 503 ? 'Service unavailable, try again shortly.' : status >= 500 ? 'Something went wrong.' : String((error as Error).message)
    }
  })
  app.use(sessions)
  app.use(async (ctx) => {
    const route = routes[`${ctx.method} ${ctx.path}`]
    if (route) await route(ctx)
  })

  return { app, sessions }
}
