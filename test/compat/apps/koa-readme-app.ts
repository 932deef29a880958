// A Koa app written the way koa-session's README writes one (the view counter with its CONFIG,
// `session(CONFIG, app)`), plus login with regenerate() + save(), remember-me via ctx.session.maxAge,
// logout with `ctx.session = null`, `ctx.session = { ... }`, and a flash message after a redirect. It is
// built twice: with koa-session's `session` and with @sesame/koa's, and the only other difference is
// the secret (koa-session signs with app.keys; sesame seals with a 32+ character secret).

import Koa from 'koa'

type SessionFactory = (options: any, app: Koa) => Koa.Middleware

const THIRTY_DAYS = 30 * 24 * 60 * 60 * 1000

async function form(ctx: Koa.Context): Promise<Record<string, string>> {
  let text = ''
  for await (const chunk of ctx.req) text += chunk
  return Object.fromEntries(new URLSearchParams(text))
}

export function koaReadmeApp(session: SessionFactory, secret: string, store?: unknown, prefix?: string): Koa {
  const app = new Koa()
  app.silent = true

  app.keys = ['some secret hurr']

  const CONFIG = {
    key: 'koa.sess' /** (string) cookie key (default is koa.sess) */,
    /** (number || 'session') maxAge in ms (default is 1 days) */
    maxAge: 86400000,
    autoCommit: true /** (boolean) automatically commit headers (default true) */,
    overwrite: true /** (boolean) can overwrite or not (default true) */,
    httpOnly: true /** (boolean) httpOnly or not (default true) */,
    signed: true /** (boolean) signed or not (default true) */,
    rolling: false /** (boolean) Force a session identifier cookie to be set on every response. */,
    renew: false /** (boolean) renew session when session is nearly expired. */,
    secure: false /** (boolean) secure cookie (false: these tests speak plain HTTP) */,
    sameSite: undefined /** (string) session cookie sameSite options (the README's null is refused by koa-session 7's own option check) */,
    secret,
    ...(store ? { store, prefix } : {}),
  }

  app.use(session(CONFIG, app))

  app.use(async (ctx, next) => {
    // ignore favicon
    if (ctx.path === '/favicon.ico') return

    if (ctx.path === '/views') {
      let n = ctx.session!.views || 0
      ctx.session!.views = ++n
      ctx.body = n + ' views'
      return
    }

    if (ctx.method === 'POST' && ctx.path === '/login') {
      const body = await form(ctx)
      await ctx.session!.regenerate()
      ctx.session!.user = body.user
      ctx.session!.flash = 'Welcome back, ' + body.user
      if (body.remember) ctx.session!.maxAge = THIRTY_DAYS
      await ctx.session!.save()
      ctx.redirect('/')
      return
    }

    if (ctx.method === 'POST' && ctx.path === '/login-cb') {
      // The same login with koa-session's callback forms regenerate(cb) and save(cb).
      const body = await form(ctx)
      await new Promise<void>((resolve, reject) => ctx.session!.regenerate((err?: Error) => (err ? reject(err) : resolve())))
      ctx.session!.user = body.user
      ctx.session!.flash = 'Welcome back, ' + body.user
      await new Promise<void>((resolve, reject) => ctx.session!.save((err?: Error) => (err ? reject(err) : resolve())))
      ctx.redirect('/')
      return
    }

    if (ctx.method === 'POST' && ctx.path === '/logout') {
      ctx.session = null
      ctx.redirect('/')
      return
    }

    if (ctx.method === 'POST' && ctx.path === '/reset') {
      ctx.session = { theme: 'dark' }
      ctx.redirect('/')
      return
    }

    if (ctx.path === '/') {
      const flash = ctx.session!.flash
      delete ctx.session!.flash
      ctx.body = {
        flash: flash ?? null,
        user: ctx.session!.user ?? null,
        theme: ctx.session!.theme ?? null,
        views: ctx.session!.views ?? 0,
        length: ctx.session!.length,
        populated: ctx.session!.populated,
        isNew: ctx.session!.isNew,
        maxAge: ctx.session!.maxAge,
      }
      return
    }
    await next()
  })

  return app
}
