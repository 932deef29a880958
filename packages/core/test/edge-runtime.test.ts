// @sesame/core on an edge runtime (issue 19): under the conditions Next's edge compiler and Workers
// bundlers resolve with, no Node built-in module is reachable from the built package, and the package
// works in a context that has only Web globals. Both use the built dist/ (run `pnpm build` first).
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { resolveSecrets, Sealer } from '@sesame/core'
// A plain .mjs helper, shared with the child process.
import { CONDITIONS, moduleGraph } from './fixtures/edge-graph.mjs'

interface Graph {
  files: string[]
  builtinImports: Array<{ specifier: string; from: string; dynamic: boolean }>
}
const graphOf = moduleGraph as (entry: string, conditions: string[]) => Graph
const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url))
const runner = fileURLToPath(new URL('./fixtures/edge-run.mjs', import.meta.url))
const secret = 'edge-runtime-test-secret-0123456789-abc'
const inCore = (file: string) => file.includes('/packages/core/dist/')

describe('@sesame/core on edge runtimes', () => {
  it.each(['next-edge', 'worker'] as const)('%s conditions: no Node built-in is reachable; Web Crypto and iron-webcrypto are', (name) => {
    const graph = graphOf(entry, CONDITIONS[name])
    expect(graph.builtinImports).toEqual([])
    expect(graph.files.some((file) => file.endsWith('/dist/crypto/web.js'))).toBe(true)
    expect(graph.files.some((file) => file.endsWith('/dist/crypto/node.js'))).toBe(false)
    expect(graph.files.some((file) => file.includes('/iron-webcrypto/'))).toBe(true)
    expect(graph.files.some((file) => file.includes('/@hapi/'))).toBe(false)
  })

  it('bare `default` conditions: nothing of core names a built-in; the one dependency that does imports it dynamically, guarded', () => {
    const graph = graphOf(entry, CONDITIONS.default)
    expect(graph.builtinImports.filter(({ from }) => inCore(from))).toEqual([])
    // lru-cache's non-browser build tries import('node:diagnostics_channel') and catches its failure
    // (edge bundlers pass `browser`, whose build has no such import: see the test above).
    expect(graph.builtinImports.map(({ specifier, from, dynamic }) => ({ specifier, dynamic, lruCache: from.includes('/lru-cache/') }))).toEqual([
      { specifier: 'node:diagnostics_channel', dynamic: true, lruCache: true },
    ])
    expect(graph.files.some((file) => file.endsWith('/dist/crypto/web.js'))).toBe(true)
  })

  it('the `node` condition reaches node:crypto and @hapi/iron (the walk sees built-ins where they are)', () => {
    const graph = graphOf(entry, ['node', 'import'])
    expect(graph.files.some((file) => file.endsWith('/dist/crypto/node.js'))).toBe(true)
    expect(graph.builtinImports.some(({ specifier, from }) => specifier === 'node:crypto' && inCore(from))).toBe(true)
  })

  it('runs without Node built-ins: creates a session, seals it, loads it back; seals open across Node and the edge', async () => {
    const nodeSealer = new Sealer(resolveSecrets(secret))
    const nodeSealed = await nodeSealer.seal({ sid: 'AbCdEfGhIjKlMnOpQrStUvWx', createdAt: 42 })
    const { stdout } = await promisify(execFile)(process.execPath, ['--no-warnings', '--experimental-vm-modules', runner, nodeSealed, secret], { timeout: 60_000 })
    const result = JSON.parse(stdout)
    expect(result.runtime).toBe('web')
    expect(result.globals).toEqual(['undefined', 'undefined', 'undefined', 'undefined'])
    expect(result.refused).toEqual([])
    expect(result.n).toBe(1)
    expect(result.isNew).toBe(false)
    expect(result.tamperedIsNew).toBe(true)
    expect(result.events).toEqual([expect.stringMatching(/^session\.created [A-Za-z0-9_-]{22}$/)])
    // Sealed on Node (@hapi/iron), opened on the edge (iron-webcrypto), and the other way round.
    expect(result.fromNode).toEqual({ sid: 'AbCdEfGhIjKlMnOpQrStUvWx', createdAt: 42, stale: false })
    const fromEdge = await new Sealer(resolveSecrets(secret)).unseal(result.cookie)
    expect(fromEdge).toMatchObject({ stale: false })
    expect(typeof fromEdge === 'object' && fromEdge.sid).toMatch(/^[A-Za-z0-9_-]{24}$/)
  }, 90_000)
})
