// A fresh clone installs quietly: `pnpm install` on a copy of the repository without node_modules
// or any build output (what a new contributor or CI has) prints no warning, and the `sesame-audit`
// bin it links works, before the build (one line saying to build) and after it.
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { builtEntry, repoRoot } from '../support/built.js'

// Left out of the copy: what install and build make, and git's own files.
const NOT_IN_A_CLONE = new Set(['node_modules', 'dist', '.next', '.turbo', '.vitest', '.git', '.sesame-audit', 'coverage'])
const copy = mkdtempSync(join(tmpdir(), 'sesame-fresh-'))
afterAll(() => rmSync(copy, { recursive: true, force: true }))

it('pnpm install on a fresh copy prints no "Failed to create bin" (or any other) warning', () => {
  cpSync(repoRoot, copy, { recursive: true, filter: (path) => !NOT_IN_A_CLONE.has(basename(path)) && !path.endsWith('.tsbuildinfo') })
  expect(existsSync(join(copy, 'packages/audit-log/dist'))).toBe(false)
  // --offline: the packages come from the pnpm store the repository's own install filled.
  const install = spawnSync('npx', ['--yes', 'pnpm@10', 'install', '--offline', '--frozen-lockfile'], {
    cwd: copy,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', NEXT_TELEMETRY_DISABLED: '1', TURBO_TELEMETRY_DISABLED: '1' },
    timeout: 240_000,
  })
  const output = install.stdout + install.stderr
  expect(install.status, output).toBe(0)
  expect(output).not.toMatch(/Failed to create bin/)
  expect(output).not.toMatch(/\bWARN\b/)

  // The linked bin exists and says what to do when the package is not built yet.
  const bin = join(copy, 'examples/express-app/node_modules/.bin/sesame-audit')
  expect(existsSync(bin)).toBe(true)
  const unbuilt = spawnSync(bin, ['keygen'], { encoding: 'utf8' })
  expect(unbuilt.status).toBe(2)
  expect(unbuilt.stderr.trim()).toBe('sesame-audit: @sesame/audit-log is not built yet (no dist/cli.js); run `npx --yes pnpm@10 build` in the repository first.')
}, 300_000)

it('the sesame-audit bin an example gets runs the built CLI', () => {
  builtEntry('audit-log', 'cli.js')
  const keygen = spawnSync(join(repoRoot, 'examples/express-app/node_modules/.bin/sesame-audit'), ['keygen'], { encoding: 'utf8' })
  expect(keygen.status, keygen.stderr).toBe(0)
  expect(keygen.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{40,}$/) // a fresh key, base64url
})
