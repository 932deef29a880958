// An Express app written the way express-session's README writes one (the view counter and the user
// login examples, plus remember-me via cookie.maxAge, logout with destroy(cb), a flash message after a
// redirect). It is built twice: with express-session's `session` and with @sesame/express's, and the
// only other difference is the secret (sesame wants 32+ characters). Nothing in here knows which.

import express, { type NextFunction, type Request, type Response } from 'express'

// The session middleware factory, as the app imports it (express-session's default export or sesame's).
type SessionFactory = (options: any) => express.RequestHandler

const THIRTY_DAYS = 30 * 24 * 60 * 60 * 1000

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

export function expressReadmeApp(session: SessionFactory, secret: string, store?: unknown): express.Express {
  const app = express()

  app.use(
    session({
      secret,
      resave: false,
      saveUninitialized: true,
      ...(store ? { store } : {}),
    }),
  )

  // README "view counter": views per path.
  app.use(function (req: any, _res: Response, next: NextFunction) {
    if (!req.session.views) {
      req.session.views = {}
    }
    const pathname = req.path
    req.session.views[pathname] = (req.session.views[pathname] || 0) + 1
    next()
  })

  app.get('/foo', function (req: any, res: Response) {
    res.send('you viewed this page ' + req.session.views['/foo'] + ' times')
  })

  app.get('/bar', function (req: any, res: Response) {
    res.send('you viewed this page ' + req.session.views['/bar'] + ' times')
  })

  // README "user login": middleware to test if authenticated
  function isAuthenticated(req: any, _res: Response, next: NextFunction) {
    if (req.session.user) next()
    else next('route')
  }

  /** A message set before a redirect, shown once on the next page. */
  function takeFlash(req: any): string {
    const flash = req.session.flash
    delete req.session.flash
    return flash ? '<p class="flash">' + escapeHtml(flash) + '</p>' : ''
  }

  app.get('/', isAuthenticated, function (req: any, res: Response) {
    // this is only called when there is an authentication user due to isAuthenticated
    res.send(takeFlash(req) + 'hello, ' + escapeHtml(req.session.user) + '!' + ' <a href="/logout">Logout</a>')
  })

  app.get('/', function (req: any, res: Response) {
    res.send(
      takeFlash(req) +
        '<form action="/login" method="post">' +
        'Username: <input name="user"><br>' +
        'Password: <input name="pass" type="password"><br>' +
        'Remember me: <input name="remember" type="checkbox"><br>' +
        '<input type="submit" text="Login"></form>',
    )
  })

  app.post('/login', express.urlencoded({ extended: false }), function (req: any, res: Response, next: NextFunction) {
    // login logic to validate req.body.user and req.body.pass would be implemented here.
    // regenerate the session, which is good practice to help guard against forms of session fixation
    req.session.regenerate(function (err?: unknown) {
      if (err) return next(err)

      // store user information in session, typically a user id
      req.session.user = req.body.user
      req.session.flash = 'Welcome back, ' + req.body.user
      // "remember me": a persistent cookie for 30 days
      if (req.body.remember) req.session.cookie.maxAge = THIRTY_DAYS

      // save the session before redirection to ensure page load does not happen before session is saved
      req.session.save(function (err?: unknown) {
        if (err) return next(err)
        res.redirect('/')
      })
    })
  })

  // README "user login": logout by clearing the user, saving, then regenerating.
  app.get('/logout', function (req: any, res: Response, next: NextFunction) {
    // clear the user from the session object and save.
    // this will ensure that re-using the old session id does not have a legitimate active session
    req.session.user = null
    req.session.save(function (err?: unknown) {
      if (err) return next(err)

      // regenerate the session, which is good practice to help guard against forms of session fixation
      req.session.regenerate(function (err?: unknown) {
        if (err) return next(err)
        req.session.flash = 'You have been logged out'
        res.redirect('/')
      })
    })
  })

  // Logout by destroying the session outright.
  app.post('/logout', function (req: any, res: Response, next: NextFunction) {
    req.session.destroy(function (err?: unknown) {
      if (err) return next(err)
      // cannot access session here
      res.redirect('/')
    })
  })

  app.get('/whoami', function (req: any, res: Response) {
    res.json({ user: req.session.user ?? null, remembered: req.session.cookie.maxAge !== null && req.session.cookie.maxAge !== undefined, hasId: typeof req.sessionID === 'string' })
  })

  app.use(function (err: any, _req: Request, res: Response, _next: NextFunction) {
    res.status(500).send('error: ' + (err?.message ?? String(err)))
  })

  return app
}
