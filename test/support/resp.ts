// One Redis command over a fresh loopback connection, for test set-up and inspection (cluster admin,
// CLUSTER INFO) without spawning redis-cli each time. Replies: simple string, error (thrown),
// integer, bulk string (null for nil), array (nested).
import net from 'node:net'

export type RespReply = string | number | null | RespReply[]

function encode(args: readonly string[]): Buffer {
  const parts = [`*${args.length}\r\n`]
  for (const arg of args) parts.push(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`)
  return Buffer.from(parts.join(''))
}

/** Parses one reply at `offset`; undefined while the buffer does not hold all of it yet. */
function parse(buffer: Buffer, offset: number): { value: RespReply | Error; next: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset)
  if (lineEnd === -1) return undefined
  const type = String.fromCharCode(buffer[offset]!)
  const line = buffer.toString('utf8', offset + 1, lineEnd)
  const next = lineEnd + 2
  switch (type) {
    case '+':
      return { value: line, next }
    case '-':
      return { value: new Error(line), next }
    case ':':
      return { value: Number(line), next }
    case '$': {
      const length = Number(line)
      if (length < 0) return { value: null, next }
      if (buffer.length < next + length + 2) return undefined
      return { value: buffer.toString('utf8', next, next + length), next: next + length + 2 }
    }
    case '*': {
      const count = Number(line)
      if (count < 0) return { value: null, next }
      const items: RespReply[] = []
      let at = next
      for (let i = 0; i < count; i++) {
        const item = parse(buffer, at)
        if (!item) return undefined
        if (item.value instanceof Error) return item
        items.push(item.value)
        at = item.next
      }
      return { value: items, next: at }
    }
    default:
      return { value: new Error(`unexpected reply type ${JSON.stringify(type)}`), next }
  }
}

export function command(port: number, args: readonly string[], timeoutMs = 5_000): Promise<RespReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    let buffer = Buffer.alloc(0)
    const finish = (error: Error | undefined, value?: RespReply) => {
      socket.destroy()
      if (error) reject(error)
      else resolve(value!)
    }
    socket.setTimeout(timeoutMs, () => finish(new Error(`no reply from 127.0.0.1:${port} within ${timeoutMs} ms`)))
    socket.on('error', (error) => finish(error))
    socket.on('connect', () => socket.write(encode(args)))
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk])
      const reply = parse(buffer, 0)
      if (!reply) return
      if (reply.value instanceof Error) finish(reply.value)
      else finish(undefined, reply.value)
    })
  })
}
