// The sink encrypts a batch of lines with one AES-ECB call and GHASH in WebAssembly (src/gcm.ts). Every
// line must be exactly what node:crypto's AES-256-GCM makes of it, line by line, so that the reader
// (which decrypts with node:crypto) and files written before the change stay compatible.
import { spawnSync } from 'node:child_process'
import { createCipheriv, createSecretKey, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ChainWriter } from '../src/chain.js'
import { decrypt, lineTemplate, parseLine, writeNonce, writerKey } from '../src/format.js'
import { BatchGcm } from '../src/gcm.js'
import { deriveKey } from '../src/keys.js'
import { distIndex, ensureBuilt, TEST_KEY, tempDir } from './support/index.js'

/** One line as node:crypto's GCM makes it: the reference the batch must match byte for byte. */
function referenceLine(key: Buffer, writer: string, keyId: string, seq: number, plaintext: string, previousTag: Buffer | undefined): { line: string; tag: Buffer } {
  const cipher = createCipheriv('aes-256-gcm', key, writeNonce(seq))
  if (previousTag) cipher.setAAD(previousTag)
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  const tag = cipher.getAuthTag()
  return { line: `{"v":1,"w":"${writer}","s":${seq},"k":"${keyId}","c":"${ciphertext.toString('base64url')}","t":"${tag.toString('base64url')}"}\n`, tag }
}

// Lengths around every block boundary, long lines, and multi-byte UTF-8 (including a lone surrogate,
// which both sides encode as U+FFFD).
const SAMPLES = [
  '', 'a', '{"x":1}', 'x'.repeat(15), 'x'.repeat(16), 'x'.repeat(17), 'y'.repeat(31), 'y'.repeat(32), 'y'.repeat(33),
  JSON.stringify({ type: 'session.created', at: '2026-12-01T02:00:00.000Z', sessionRef: 'abcdefghijklmnopqrstuv', ip: '127.0.0.1', userAgent: 'Mozilla/5.0' }),
  'é'.repeat(40), '日本語のユーザーエージェント', '🔑'.repeat(9), 'a\uD800b', 'z'.repeat(5000),
]

describe('batch AES-256-GCM', () => {
  it('writes the same lines as node:crypto, one cipher per line, across batches of every size', () => {
    const auditKey = deriveKey(randomBytes(32))
    const chain = new ChainWriter(auditKey)
    const key = writerKey(auditKey, chain.writer)
    let previous: Buffer | undefined
    let seq = 0
    const expectBatch = (plaintexts: string[]): void => {
      let expected = ''
      for (const plaintext of plaintexts) {
        const { line, tag } = referenceLine(key, chain.writer, auditKey.id, seq++, plaintext, previous)
        expected += line
        previous = tag
      }
      expect(plaintexts.length === 1 && Math.random() < 0.5 ? chain.line(plaintexts[0]!) : chain.lines(plaintexts)).toBe(expected)
    }
    expectBatch([SAMPLES[0]!]) // seq 0: no associated data
    expectBatch(SAMPLES)
    for (const sample of SAMPLES) expectBatch([sample])
    expectBatch([])
    // Batches larger than the WebAssembly memory (encrypted in chunks), and lines too long for it alone
    // (node:crypto's GCM), between and after chunked lines.
    expectBatch(Array.from({ length: 30 }, (_, i) => `${i}`.padEnd(5000, 'q')))
    expectBatch(Array.from({ length: 400 }, (_, i) => SAMPLES[i % SAMPLES.length]!))
    expectBatch(['w'.repeat(300_000), SAMPLES[9]!])
    expectBatch([SAMPLES[9]!, 'é'.repeat(70_000), SAMPLES[12]!, 'v'.repeat(100_000)])
    for (let size = 2; size < 40; size += 7) expectBatch(Array.from({ length: size }, (_, i) => SAMPLES[(i * 5 + size) % SAMPLES.length]!))
    expect(chain.seq).toBe(seq)
  })

  it('lines decrypt through the reader, each only after its own predecessor', () => {
    const auditKey = deriveKey(randomBytes(32))
    const chain = new ChainWriter(auditKey)
    const key = writerKey(auditKey, chain.writer)
    const text = chain.lines(SAMPLES.slice(0, 8)) + chain.lines(SAMPLES.slice(8))
    const raws = text.split('\n').slice(0, -1).map((line) => parseLine(line)!)
    let previous: Buffer | undefined
    raws.forEach((raw, i) => {
      expect(decrypt(key, raw, previous)).toBe(Buffer.from(SAMPLES[i]!, 'utf8').toString('utf8'))
      if (i > 1) expect(decrypt(key, raw, Buffer.from(raws[0]!.t, 'base64url'))).toBeUndefined()
      previous = Buffer.from(raw.t, 'base64url')
    })
  })

  it('uses the 64-bit sequence number as the nonce beyond 2^32', () => {
    const key = randomBytes(32)
    const gcm = new BatchGcm(createSecretKey(key), lineTemplate('AAAAAAAAAAAAAAAA', 'kkkkkkkk'))
    const seq = 2 ** 32 + 7
    const previous = randomBytes(16)
    const link = new Int32Array(4)
    for (let i = 0; i < 4; i++) link[i] = previous.readInt32BE(4 * i)
    const lines = gcm.lines([SAMPLES[9]!, SAMPLES[3]!], seq, true, link).toString('latin1').split('\n')
    expect(lines.at(-1)).toBe('')
    let aad = previous
    for (let i = 0; i < 2; i++) {
      const raw = parseLine(lines[i]!)!
      expect(raw.s).toBe(seq + i)
      const cipher = createCipheriv('aes-256-gcm', key, writeNonce(seq + i))
      cipher.setAAD(aad)
      expect(raw.c).toBe(Buffer.concat([cipher.update([SAMPLES[9]!, SAMPLES[3]!][i]!, 'utf8'), cipher.final()]).toString('base64url'))
      aad = cipher.getAuthTag()
      expect(raw.t).toBe(aad.toString('base64url'))
    }
    const last = Buffer.alloc(16)
    for (let j = 0; j < 4; j++) last.writeInt32BE(link[j]!, 4 * j)
    expect(last.equals(aad)).toBe(true)
  })

  // Growing a WebAssembly memory detaches its old ArrayBuffer, and the first detach in a process makes
  // V8 throw away the optimized code of every function that reads a typed array, the app's included.
  it('never makes the app\'s optimized typed-array code deoptimize, even for batches larger than its memory', () => {
    ensureBuilt()
    const { dir, cleanup } = tempDir()
    try {
      const script = `
        const { fileSink } = await import(${JSON.stringify(distIndex)})
        const samples = new Float64Array(256).fill(1)
        function appHotPath(values) { let sum = 0; for (let i = 0; i < values.length; i++) sum += values[i]; return sum }
        for (let i = 0; i < 100000; i++) appHotPath(samples)
        console.log('APP WARM')
        const sink = fileSink({ path: ${JSON.stringify(join(dir, 'audit.jsonl'))}, key: ${JSON.stringify(TEST_KEY)}, flushInterval: 0 })
        for (let round = 0; round < 4; round++) {
          for (let i = 0; i < 3000; i++) sink.write({ type: 'session.created', at: new Date().toISOString(), sessionRef: 'r' + i, userAgent: 'agent '.repeat(80), path: '/é' + i })
          await sink.flush()
          appHotPath(samples)
        }
        await sink.close()
        console.log('SINK DONE', sink.stats().written)
      `
      const run = spawnSync(process.execPath, ['--trace-deopt', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 })
      expect(run.status, run.stderr).toBe(0)
      const afterWarm = run.stdout.slice(run.stdout.indexOf('APP WARM'))
      expect(afterWarm).toContain('SINK DONE 12000')
      expect(afterWarm.split('\n').filter((line) => line.includes('appHotPath'))).toEqual([])
    } finally {
      cleanup()
    }
  })
})
