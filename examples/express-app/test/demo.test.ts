// The README's demo command runs this walk-through; it must print every step and exit 0.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { builtEntry, repoRoot } from '../../../test/support/built.js'

const app = fileURLToPath(new URL('..', import.meta.url))

it('pnpm demo: the scripted walk-through passes every check and exits 0', () => {
  builtEntry('express')
  builtEntry('audit-log')
  if (!existsSync(`${app}dist/demo.js`)) execFileSync(`${repoRoot}node_modules/.bin/tsc`, ['-p', `${app}tsconfig.json`], { stdio: 'inherit' })
  const run = spawnSync(process.execPath, [`${app}dist/demo.js`], { encoding: 'utf8', timeout: 60_000 })
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
  expect(run.stdout).toContain('Demo finished.')
  expect(run.stdout).not.toContain('FAILED')
  for (const type of ['session.login', 'session.revoked', 'session.rejected', 'session.expired', 'session.logout']) {
    expect(run.stdout).toContain(type)
  }
  expect(run.stdout).toMatch(/reason=tampered/)
  expect(run.stdout).toMatch(/reason=idle/)
  // The demo ends by reading its encrypted audit file back through the sesame-audit CLI.
  expect(run.stdout).toContain('ok: sesame-audit query read the encrypted trail')
  expect(run.stdout).toMatch(/ok: sesame-audit verify: OK/)
})
