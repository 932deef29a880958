// Two Express processes on different ports share one Redis: a session made on one is the session on
// the other, a logout on either ends it for both, and revoking a user's sessions on one ends them
// everywhere. The processes run the built packages (dist/) as a user's app would, once for each way
// of reaching Redis: node-redis and ioredis, on a single server and on a 3-master Redis Cluster.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { flavours, type Flavour } from '../../packages/redis/test/support/cluster-clients.js'
import { builtEntry } from '../support/built.js'
import { redisClusterSeeds, redisUrl } from '../support/redis.js'

const here = fileURLToPath(new URL('.', import.meta.url))

interface AppProcess {
  url: string
  child: ChildProcess
  output: string[]
}

function startApp(name: string, flavour: Flavour, prefix: string): Promise<AppProcess> {
  const child = spawn(process.execPath, ['fixtures/redis-app.mjs'], {
    cwd: here,
    env: {
      ...process.env,
      APP_NAME: name,
      REDIS_CLIENT: flavour.name.startsWith('ioredis') ? 'ioredis' : 'node-redis',
      REDIS_URL: redisUrl,
      REDIS_CLUSTER: flavour.cluster ? redisClusterSeeds : '',
      KEY_PREFIX: prefix,
      SESSION_SECRET: 'e2e-shared-secret-0123456789abcdefghij',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk) => output.push(String(chunk)))
    child.stdout!.on('data', (chunk) => {
      output.push(String(chunk))
      const match = /listening (\d+)/.exec(String(chunk))
      if (match) resolve({ url: `http://127.0.0.1:${match[1]}`, child, output })
    })
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before listening:\n${output.join('')}`)))
  })
}

async function stopApp(app: AppProcess | undefined): Promise<void> {
  if (!app || app.child.exitCode !== null) return
  const exited = new Promise((resolve) => app.child.once('exit', resolve))
  app.child.kill('SIGTERM')
  await exited
}

function cookieOf(res: request.Response): string {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined
  const cookie = header?.find((line) => line.startsWith('sid='))?.split(';', 1)[0]
  if (!cookie) throw new Error('expected a session cookie')
  return cookie
}

for (const flavour of flavours) describe.skipIf(!flavour.available)(`two Express processes sharing one Redis (${flavour.name})`, () => {
  const prefix = `sesame-e2e:${randomUUID().slice(0, 8)}:`
  let a: AppProcess | undefined
  let b: AppProcess | undefined

  beforeAll(async () => {
    for (const pkg of ['core', 'express', 'redis']) builtEntry(pkg)
    ;[a, b] = await Promise.all([startApp('A', flavour, prefix), startApp('B', flavour, prefix)])
  })
  afterAll(async () => {
    await Promise.all([stopApp(a), stopApp(b)])
    const connection = await flavour.connect()
    await connection.deleteUnder(prefix)
    await connection.close()
  })

  it('sees a login made on A from B, with its data', async () => {
    const cookie = cookieOf(await request(a!.url).post('/login/alice').expect(200))
    await request(a!.url).post('/set/cart?value=apple').set('Cookie', cookie).expect(200)
    const onB = await request(b!.url).get('/whoami').set('Cookie', cookie).expect(200)
    expect(onB.body).toEqual({ server: 'B', userId: 'alice', data: { cart: 'apple' } })
  })

  it('ends the session on A when the user logs out on B', async () => {
    const cookie = cookieOf(await request(a!.url).post('/login/bob').expect(200))
    expect((await request(b!.url).get('/whoami').set('Cookie', cookie)).body.userId).toBe('bob')
    await request(b!.url).post('/logout').set('Cookie', cookie).expect(200)
    const onA = await request(a!.url).get('/whoami').set('Cookie', cookie).expect(200)
    expect(onA.body).toEqual({ server: 'A', userId: null, data: {} })
  })

  it("revokes all of a user's sessions from A, ending those used on A and on B", async () => {
    const fromA = cookieOf(await request(a!.url).post('/login/carol').expect(200))
    const fromB = cookieOf(await request(b!.url).post('/login/carol').expect(200))
    const other = cookieOf(await request(b!.url).post('/login/dave').expect(200))

    const revoke = await request(a!.url).post('/revoke-all/carol').expect(200)
    expect(revoke.body.revoked).toBe(2)

    for (const app of [a!, b!]) {
      for (const cookie of [fromA, fromB]) {
        expect((await request(app.url).get('/whoami').set('Cookie', cookie)).body.userId).toBeNull()
      }
      expect((await request(app.url).get('/whoami').set('Cookie', other)).body.userId).toBe('dave')
    }
  })
})
