// The sink's own rotation (by size and by age) and retention of rotated files.
// Rotated files are named <path>.<UTC timestamp>-<random>, so they sort by age and are told apart from
// files other tools (logrotate: .1, .gz) create; retention only ever deletes names of this form.

import { randomBytes } from 'node:crypto'
import { readdir, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

const ROTATED_SUFFIX = /^\.(\d{8}T\d{9}Z)-[0-9a-f]{6}$/

export function rotatedName(path: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:.]/g, '')
  return `${path}.${stamp}-${randomBytes(3).toString('hex')}`
}

export interface RotationPolicy {
  /** 0: never by size. */
  maxFileBytes: number
  /** 0: never by age. */
  maxFileAgeMs: number
}

/**
 * Whether to rotate before appending `nextBytes` to a file of `size` bytes. An empty file is never
 * rotated, so a single line larger than maxFileBytes still gets written (alone in its file).
 */
export function shouldRotate(policy: RotationPolicy, size: number, nextBytes: number, startedAt: number, now: number): boolean {
  if (size === 0) return false
  if (policy.maxFileBytes > 0 && size + nextBytes > policy.maxFileBytes) return true
  return policy.maxFileAgeMs > 0 && now - startedAt >= policy.maxFileAgeMs
}

/** The rotated files of `path`, oldest first. */
export async function rotatedFiles(path: string): Promise<string[]> {
  const base = basename(path)
  const names = await readdir(dirname(path))
  return names
    .filter((name) => name.startsWith(base) && ROTATED_SUFFIX.test(name.slice(base.length)))
    .sort()
    .map((name) => join(dirname(path), name))
}

/** Delete rotated files last modified more than retentionMs ago. Returns the files deleted. */
export async function applyRetention(path: string, retentionMs: number, now: number): Promise<string[]> {
  if (retentionMs <= 0) return []
  const deleted: string[] = []
  for (const file of await rotatedFiles(path)) {
    const info = await stat(file).catch(() => undefined)
    if (info && now - info.mtimeMs > retentionMs) {
      await unlink(file).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error
      })
      deleted.push(file)
    }
  }
  return deleted
}
