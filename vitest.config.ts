import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url))

export default defineConfig({
  resolve: {
    // In-process tests run against the sources; child processes (examples, e2e) use the built dist/.
    alias: [
      { find: /^@sesame\/core$/, replacement: src('core') },
      { find: /^@sesame\/core\/node-http$/, replacement: fileURLToPath(new URL('./packages/core/src/node-http.ts', import.meta.url)) },
      // core's "#crypto" import: the node:crypto branch under Node (package.json conditions pick it for dist/).
      { find: /^#crypto$/, replacement: fileURLToPath(new URL('./packages/core/src/crypto/node.ts', import.meta.url)) },
      { find: /^@sesame\/express$/, replacement: src('express') },
      { find: /^@sesame\/koa$/, replacement: src('koa') },
      { find: /^@sesame\/next$/, replacement: src('next') },
      { find: /^@sesame\/redis$/, replacement: src('redis') },
      { find: /^@sesame\/audit-log$/, replacement: src('audit-log') },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', 'test/bench/**'],
    globalSetup: ['./test/support/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 120_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest/results.json' },
    pool: 'forks',
  },
})
