// `pnpm demo` builds what the Express demo runs and nothing else: the Next example's build is most
// of a full build's time, and the demo never starts it. Asked of turbo itself (a dry run of the
// script's own build command), so a change to the script or to a package's dependencies shows here.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { repoRoot } from '../../../test/support/built.js'

it('pnpm demo builds the Express example and the packages it imports, not the Next or Koa apps', () => {
  const demo = (JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts.demo!
  const build = /^turbo (run build[^&]*)&&/.exec(demo)
  expect(build, `the demo script starts with a turbo build: ${demo}`).not.toBeNull()
  // Through pnpm, as `pnpm demo` runs it: turbo looks for the package manager's binary.
  const dry = spawnSync('npx', ['--yes', 'pnpm@10', 'exec', 'turbo', ...build![1]!.trim().split(/\s+/), '--dry=json'], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  })
  expect(dry.status, dry.stderr).toBe(0)
  const tasks = (JSON.parse(dry.stdout) as { tasks: { taskId: string }[] }).tasks.map((task) => task.taskId).sort()
  expect(tasks).toEqual(['@sesame/audit-log#build', '@sesame/core#build', '@sesame/express#build', 'express-app#build'])
})
