import { createServer } from 'node:http'
import { Readable } from 'node:stream'
import Koa from 'koa'
import { session } from '@sesame/koa'
import { errorBody, type Harness } from './harness.js'
import { routes } from './routes.js'

/** The harness for one Koa major version (the package supports Koa 2 and 3). */
export function koaHarnessFor(name: string, KoaClass: typeof Koa): Harness {
  return {
    name,
    async start(options, settings = {}) {
      const app = new KoaClass()
      const sessions = session(options)
      app.silent = true
      if (settings.trustedProxies !== undefined) {
        app.proxy = true
        app.maxIpsCount = settings.trustedProxies === true ? 0 : settings.trustedProxies
      }
      // The app's error middleware, outermost: store errors reach it like any other error.
      app.use(async (ctx, next) => {
        try {
          await next()
        } catch (error) {
          const { status, body } = errorBody(error)
          ctx.status = status
          ctx.body = body
        }
      })
      app.use(sessions)
      app.use(async (ctx) => {
        const route = routes[ctx.path]
        if (!route) return
        const result = await route(ctx.session, new URLSearchParams(ctx.querystring))
        if ('redirect' in result) {
          ctx.status = 302
          ctx.redirect(result.redirect)
        } else if ('stream' in result) {
          ctx.type = 'text/plain'
          ctx.body = Readable.from(result.stream)
        } else {
          ctx.status = result.status ?? 200
          ctx.body = result.json
        }
      })
      const server = createServer(app.callback())
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      return {
        server,
        engine: sessions.engine,
        close: async () => {
          await new Promise<void>((resolve) => server.close(() => resolve()))
          await sessions.close()
        },
      }
    },
  }
}

export const koaHarness = koaHarnessFor('koa 3', Koa)
