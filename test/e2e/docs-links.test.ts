// A fresh clone's docs point at what the clone has: every relative link in a README or a page of
// docs/, and every relative path to a Markdown file they name in code, resolves to a file or folder
// inside the repository (the root README once named ../shared/DESIGN.md, which is not in it).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { expect, it } from 'vitest'
import { repoRoot } from '../support/built.js'

const SKIP = new Set(['node_modules', 'dist', '.next', '.turbo', '.vitest', '.git'])

function markdownFiles(dir: string): string[] {
  const found: string[] = []
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) found.push(...markdownFiles(path))
    else if (name.endsWith('.md')) found.push(path)
  }
  return found
}

it('every relative link and Markdown path in the docs resolves inside the repository', () => {
  const root = resolve(repoRoot)
  const files = markdownFiles(root)
  expect(files.length).toBeGreaterThan(10)
  const broken: string[] = []
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    const targets = [
      ...[...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!),
      ...[...text.matchAll(/`((?:\.\.?\/)[^`\s]*\.md)`/g)].map((match) => match[1]!),
    ]
    for (const target of targets) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue // a URL, an anchor
      const path = resolve(dirname(file), decodeURI(target.split('#', 1)[0]!))
      const inside = path === root || path.startsWith(root + sep)
      if (!inside || !existsSync(path)) broken.push(`${relative(root, file)}: ${target}`)
    }
  }
  expect(broken).toEqual([])
})
