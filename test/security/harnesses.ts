// Every adapter harness that exists: test/conformance/*.harness.ts, each exporting a `Harness`.
// Found by glob, so the Koa and Next harnesses join every security suite the moment they land.
import type { Harness } from '../conformance/harness.js'

declare global {
  interface ImportMeta {
    glob(pattern: string, options: { eager: true }): Record<string, Record<string, unknown>>
  }
}

const modules = import.meta.glob('../conformance/*.harness.ts', { eager: true })

function isHarness(value: unknown): value is Harness {
  return typeof value === 'object' && value !== null && typeof (value as Harness).name === 'string' && typeof (value as Harness).start === 'function'
}

export const harnesses: Harness[] = Object.values(modules)
  .flatMap((module) => Object.values(module).filter(isHarness))
  .sort((a, b) => a.name.localeCompare(b.name))

if (!harnesses.some((harness) => harness.name === 'express')) throw new Error('security suites: the express harness was not found')
