#!/usr/bin/env node
// The `sesame-audit` command: a committed launcher for dist/cli.js. The bin must exist when
// `pnpm install` links it, which on a fresh clone is before anything is built; a bin pointing
// into dist/ made every install print "Failed to create bin ... ENOENT" for each dependent.
import { existsSync } from 'node:fs'

const cli = new URL('../dist/cli.js', import.meta.url)
if (existsSync(cli)) {
  await import(cli.href)
} else {
  console.error('sesame-audit: @sesame/audit-log is not built yet (no dist/cli.js); run `npx --yes pnpm@10 build` in the repository first.')
  process.exitCode = 2
}
