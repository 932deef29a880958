// The example app: what a team moving from express-session writes with sesame.
import express, { type NextFunction, type Request, type Response } from 'express'
import { session, type SessionOptions } from '@sesame/express'
import { checkLogin, users } from './users.js'
import * as views from './views.js'

export function createApp(options: SessionOptions) {
  const app = express()
  const sessions = session(options)
  app.disable('x-powered-by')
  app.use(express.urlencoded({ extended: false }))
  app.use(sessions)

  const userOf = (req: Request) => req.session.meta.userId

  app.get('/', (req, res) => {
    const flash = req.session.flash as string | undefined
    if (flash) delete req.session.flash
    const user = userOf(req)
    res.type('html').send(views.home({ user: user && users[user]?.name, count: (req.session.count as number) ?? 0, flash }))
  })

  app.post('/login', async (req, res) => {
    const user = checkLogin(req.body?.username, req.body?.password)
    if (!user) {
      req.session.flash = 'Wrong user name or password.'
      return res.redirect(303, '/')
    }
    // New id, user bound, `session.login` audit event: the pre-login id is dead from here on.
    await req.session.login(user)
    req.session.flash = `Logged in as ${users[user]!.name}.`
    res.redirect(303, '/')
  })

  app.post('/logout', async (req, res) => {
    await req.session.logout()
    req.session.flash = 'You have been logged out.'
    res.redirect(303, '/')
  })

  app.post('/count', (req, res) => {
    req.session.count = ((req.session.count as number) ?? 0) + 1
    res.redirect(303, '/')
  })

  app.get('/api/count', (req, res) => {
    req.session.count = ((req.session.count as number) ?? 0) + 1
    res.json({ count: req.session.count, user: userOf(req) ?? null })
  })

  const requireUser = (req: Request, res: Response, next: NextFunction) => {
    if (userOf(req)) return next()
    req.session.flash = 'Please log in first.'
    res.redirect(303, '/')
  }

  app.get('/sessions', requireUser, async (req, res) => {
    const user = userOf(req)!
    const list = await sessions.engine.listUserSessions(user, { current: req.session.id })
    res.type('html').send(views.sessions(users[user]!.name, list))
  })

  app.post('/sessions/revoke', requireUser, async (req, res) => {
    await sessions.engine.revokeSession(userOf(req)!, String(req.body?.ref ?? ''))
    res.redirect(303, '/sessions')
  })

  app.post('/sessions/revoke-others', requireUser, async (req, res) => {
    await sessions.engine.revokeUserSessions(userOf(req)!, { except: req.session.id })
    res.redirect(303, '/sessions')
  })

  // Store failures arrive here as SessionStoreUnavailable (status 503), never as a silent logout.
  app.use((error: { status?: number; code?: string }, _req: Request, res: Response, _next: NextFunction) => {
    const status = error.status ?? 500
    if (status >= 500) console.error(`request failed: ${error.code ?? 'error'}`)
    res.status(status).type('text').send(status === 503 ? 'Service unavailable, try again shortly.' : 'Something went wrong.')
  })

  return { app, sessions }
}
