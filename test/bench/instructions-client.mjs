// Sends N requests over 4 keep-alive connections and waits for every answer (instructions.sh).
// argv: <port> <N> [cookie]
import http from 'node:http'

const [port, total, cookie] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]]
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 })
const headers = cookie ? { cookie } : {}
let started = 0
let done = 0
await new Promise((resolve, reject) => {
  if (total === 0) return resolve()
  const one = () => {
    if (started >= total) return
    started++
    http
      .get({ host: '127.0.0.1', port, path: '/', agent, headers }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`))
        res.resume()
        res.on('end', () => (++done === total ? resolve() : one()))
      })
      .on('error', reject)
  }
  for (let i = 0; i < 4; i++) one()
})
agent.destroy()
