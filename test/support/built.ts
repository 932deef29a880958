// Child processes run the built packages (dist/). `pnpm test` builds first; when a single test
// file is run on its own, build what it needs here.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

export function builtEntry(pkg: string, file = 'index.js'): string {
  const entry = `${repoRoot}packages/${pkg}/dist/${file}`
  if (!existsSync(entry)) {
    const tsc = `${repoRoot}node_modules/.bin/tsc`
    for (const name of new Set(['core', pkg])) {
      execFileSync(tsc, ['-p', `${repoRoot}packages/${name}/tsconfig.build.json`], { stdio: 'inherit' })
    }
  }
  return entry
}
