import { createServer } from 'node:http'
import express, { type NextFunction, type Request, type Response } from 'express'
import { session } from '@sesame/express'
import { errorBody, type Harness } from './harness.js'
import { routes } from './routes.js'

export const expressHarness: Harness = {
  name: 'express',
  async start(options, settings = {}) {
    const app = express()
    const sessions = session(options)
    app.set('trust proxy', settings.trustedProxies ?? false)
    app.use(sessions)
    for (const [path, route] of Object.entries(routes)) {
      app.all(path, async (req: Request, res: Response, next: NextFunction) => {
        try {
          const result = await route(req.session, new URL(req.originalUrl, 'http://x').searchParams)
          if ('redirect' in result) res.redirect(302, result.redirect)
          else if ('stream' in result) {
            res.setHeader('Content-Type', 'text/plain')
            for (const chunk of result.stream) {
              res.write(chunk)
              await new Promise((resolve) => setImmediate(resolve))
            }
            res.end()
          } else res.status(result.status ?? 200).json(result.json)
        } catch (error) {
          next(error)
        }
      })
    }
    app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      const { status, body } = errorBody(error)
      if (res.headersSent) return res.end()
      res.status(status).json(body)
    })
    const server = createServer(app)
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
