// One app process of several sharing the test's own Redis, for the fault tests under load: Express +
// @sesame/express + @sesame/redis from the built dist/, as a user would run it. Prints
// "listening <port>" once it serves. Env: REDIS_URL, KEY_PREFIX, SESSION_SECRET, COMMAND_TIMEOUT.
import express from 'express'
import { createClient } from 'redis'
import { session } from '@sesame/express'
import { redisStore } from '@sesame/redis'

const client = createClient({ url: process.env.REDIS_URL, socket: { reconnectStrategy: () => 100 } })
// Required: without an 'error' listener node-redis turns a lost connection into an uncaught exception.
client.on('error', () => {})
await client.connect()

const sessions = session({
  secret: process.env.SESSION_SECRET,
  store: redisStore({ client, prefix: process.env.KEY_PREFIX, commandTimeout: Number(process.env.COMMAND_TIMEOUT) }),
})

const app = express()
app.use(sessions)
app.get('/whoami', (req, res) => {
  res.json({ userId: req.session.meta.userId ?? null, data: { ...req.session } })
})
app.post('/set/:key', (req, res) => {
  req.session[req.params.key] = req.query.value
  res.json({ userId: req.session.meta.userId ?? null })
})
app.post('/login/:user', async (req, res) => {
  await req.session.login(req.params.user)
  res.json({ userId: req.session.meta.userId ?? null })
})
app.use((error, _req, res, _next) => {
  res.status(error.status ?? 500).json({ code: error.code ?? 'INTERNAL' })
})

const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`))
process.on('SIGTERM', () => {
  server.close(async () => {
    await sessions.close()
    client.destroy()
    process.exit(0)
  })
  server.closeAllConnections()
})
