// One bench row on a fixed port, for instructions.sh (which runs this file under valgrind).
// argv: <row id> <port>. Prints "ready" once listening.
import http from 'node:http'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROW_BY_ID } from './rows.mjs'

const [rowId, port] = process.argv.slice(2)
const row = ROW_BY_ID.get(rowId)
if (!row) {
  console.error(`unknown row ${rowId}; rows: ${[...ROW_BY_ID.keys()].join(', ')}`)
  process.exit(2)
}
const built = await row.build({ tmpDir: mkdtempSync(join(tmpdir(), `sesame-instr-${rowId}-`)) })
const server = http.createServer(built.handler)
server.keepAliveTimeout = 120_000
server.listen(Number(port), '127.0.0.1', () => console.log('ready'))
