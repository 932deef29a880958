// Shared by the audit-log tests: temp dirs, sample events, and the built package for child processes.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AuditEvent, AuditEventType } from '@sesame/core'

export const packageDir = fileURLToPath(new URL('../..', import.meta.url))
export const repoDir = fileURLToPath(new URL('../../../..', import.meta.url))
export const distIndex = join(packageDir, 'dist', 'index.js')
export const distCli = join(packageDir, 'dist', 'cli.js')
export const writerFixture = join(packageDir, 'test', 'fixtures', 'writer.mjs')

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-audit-'))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A fixed test key (base64url of 32 bytes). */
export const TEST_KEY = Buffer.alloc(32, 7).toString('base64url')
export const OTHER_KEY = Buffer.alloc(32, 9).toString('base64url')

export const EVENT_TYPES: AuditEventType[] = [
  'session.created',
  'session.renewed',
  'session.login',
  'session.logout',
  'session.destroyed',
  'session.expired',
  'session.evicted',
  'session.rejected',
  'session.revoked',
  'store.error',
  'store.failover',
]

/** One realistic event of every type, each with a distinct path so it can be found again. */
export function sampleEvents(): AuditEvent[] {
  const base = { at: '2026-11-23T10:00:00.000Z', sessionRef: 'q0Ri1lZHCbKhcHqkxZ0AWw', ip: '203.0.113.9', userAgent: 'Mozilla/5.0 (test)', method: 'GET' }
  const extra: Partial<Record<AuditEventType, Partial<AuditEvent>>> = {
    'session.login': { userId: 'alice' },
    'session.logout': { userId: 'alice' },
    'session.expired': { reason: 'idle', ageMs: 3_600_000, idleMs: 1_800_001 },
    'session.evicted': { reason: 'capacity' },
    'session.rejected': { reason: 'tampered', count: 3 },
    'session.revoked': { userId: 'bob', reason: 'password_changed' },
    'store.error': { operation: 'commit', error: 'ECONNREFUSED' },
    'store.failover': { operation: 'read' },
  }
  return EVENT_TYPES.map((type, index) => ({ type, ...base, path: `/e/${index}`, ...extra[type] }))
}

function newestMtime(dir: string): number {
  let newest = 0
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const info = statSync(join(dir, name))
    if (info.isFile()) newest = Math.max(newest, info.mtimeMs)
  }
  return newest
}

function built(pkg: string, entry: string): boolean {
  const out = join(repoDir, 'packages', pkg, 'dist', entry)
  return existsSync(out) && statSync(out).mtimeMs >= newestMtime(join(repoDir, 'packages', pkg, 'src'))
}

/**
 * Child processes run the built package. Build it (and core, which it imports) when dist is missing
 * or older than src. A lock directory keeps parallel test files from building at the same time.
 */
export function ensureBuilt(): void {
  const lock = join(packageDir, '.test-build-lock')
  for (let waited = 0; !(built('core', 'index.js') && built('audit-log', 'cli.js')); waited++) {
    try {
      mkdirSync(lock)
    } catch {
      // A lock left by a test run that was killed mid-build: nobody builds for two minutes.
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 120_000) rmSync(lock, { recursive: true, force: true })
      if (waited > 900) throw new Error('timed out waiting for another test file to build audit-log')
      execFileSync('sleep', ['0.2'])
      continue
    }
    try {
      const tsc = join(repoDir, 'node_modules', 'typescript', 'bin', 'tsc')
      if (!built('core', 'index.js')) execFileSync(process.execPath, [tsc, '-p', join(repoDir, 'packages/core/tsconfig.build.json')], { stdio: 'inherit' })
      if (!built('audit-log', 'cli.js')) execFileSync(process.execPath, [tsc, '-p', join(packageDir, 'tsconfig.build.json')], { stdio: 'inherit' })
    } finally {
      rmSync(lock, { recursive: true, force: true })
    }
  }
}

export interface CliResult {
  status: number | null
  stdout: string
  stderr: string
}

export function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [distCli, ...args], { env: { ...process.env, SESAME_AUDIT_KEY: undefined, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (status) => resolve({ status, stdout, stderr }))
  })
}

/** Start the writer fixture: a real process appending through fileSink. */
export function startWriter(options: Record<string, unknown>): ChildProcess & { exited: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, [writerFixture, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SESAME_AUDIT_KEY: undefined } })
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return Object.assign(child, { exited, output: () => output })
}

export async function waitFor(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const start = Date.now()
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
