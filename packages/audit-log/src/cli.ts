#!/usr/bin/env node
// sesame-audit: tail, query and verify an audit log written by fileSink, and make keys.
// Exit status: 0 fine, 1 verify found problems, 2 wrong usage or unusable key/file.

import { renameSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { parseDuration, type AuditEvent } from '@sesame/core'
import { AuditConfigError, AuditKeyMissing } from './errors.js'
import { createKeyring, generateKey, loadOrCreateKeyFile, parseKeyList, readDefaultKeyFiles, readKeyFile, decodeKey, deriveKey, type Keyring } from './keys.js'
import { jsonRow, problemLine, shownEvent, tableHeader, tableRow, verifyJson, verifySummary, type ShownEvent } from './output.js'
import { followTextLines, LineDecoder, readTextLines } from './reader.js'
import { rotatedFiles } from './rotation.js'
import { terminalSafe } from './sanitize.js'
import { verifyAuditLog } from './verify.js'

const USAGE = `Usage: sesame-audit <command> [options]

Commands:
  tail [-f] [-n N] [--json] <file>        last N events (default 20); -f keeps following, across rotation
  query [filters] [--json] <file...>      events matching every filter given
      --type T[,T]      event type(s), e.g. session.login,session.logout
      --user ID         userId
      --session-ref R   sessionRef (a prefix is enough)
      --since WHEN      ISO time (2026-11-23T10:00Z) or an age ('2h' = two hours ago)
      --until WHEN      same forms
      --rotated         also read the rotated files of each <file>, oldest first
  verify [--allow-open] [--json] [--rotated] <file...>
                        check every line and every writer's chain; exit 1 and
                        print file:line for each problem. The segment of a writer
                        still running (it holds the file open) is reported as
                        "open", not a problem; --allow-open accepts every
                        segment without a close record
  keygen [--key-file F] print a new key; with --key-file, put it first in F (created
                        with mode 0600) and keep the older keys there for reading

Keys: SESAME_AUDIT_KEY (one or more keys, comma-separated) and/or --key-file F (repeatable);
with neither, the key file the sink generated beside each log: <dir of file>/.sesame-audit/key.
`

class UsageError extends Error {}

function out(text: string): void {
  process.stdout.write(`${text}\n`)
}

/** Callers pass text already made terminal-safe where it holds log content. */
function err(text: string): void {
  process.stderr.write(`${text}\n`)
}

/**
 * The keys to read with: SESAME_AUDIT_KEY and every --key-file; when neither is given, the key file
 * fileSink generates beside each log (`<dir>/.sesame-audit/key`), so a log written with the
 * default key reads with no option at all.
 */
function loadKeyring(keyFiles: string[], logFiles: string[]): Keyring {
  const keys: Buffer[] = []
  const env = process.env.SESAME_AUDIT_KEY
  if (env && env.trim() !== '') keys.push(...parseKeyList(env, 'SESAME_AUDIT_KEY'))
  for (const file of keyFiles) keys.push(...readKeyFile(file))
  if (keys.length > 0) return createKeyring(keys)
  const beside = readDefaultKeyFiles(logFiles)
  if (beside.keys.length === 0) throw new AuditKeyMissing(beside.searched)
  return createKeyring(beside.keys)
}

function parseWhen(value: string | undefined, name: string, now: number): number | undefined {
  if (value === undefined) return undefined
  const age = /^[\d.]+\s*(ms|s|m|h|d)/i.test(value.trim()) ? parseDuration(value) : undefined
  if (age !== undefined) return now - age
  const time = Date.parse(value)
  if (Number.isNaN(time)) throw new UsageError(`--${name} must be an ISO time like 2026-11-23T10:00:00Z or an age like 2h (got ${JSON.stringify(value)})`)
  return time
}

async function withRotated(files: string[], rotated: boolean | undefined): Promise<string[]> {
  if (!rotated) return files
  const all: string[] = []
  for (const file of files) all.push(...(await rotatedFiles(file)), file)
  return all
}

function printer(json: boolean | undefined): (shown: ShownEvent) => void {
  let headerShown = false
  return (shown) => {
    if (json) return out(jsonRow(shown))
    if (!headerShown) {
      headerShown = true
      out(tableHeader())
    }
    out(tableRow(shown))
  }
}

const common = {
  'key-file': { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

async function query(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...common,
      type: { type: 'string', multiple: true },
      user: { type: 'string' },
      'session-ref': { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      rotated: { type: 'boolean' },
    },
  })
  if (positionals.length === 0) throw new UsageError('query needs a log file')
  const now = Date.now()
  const since = parseWhen(values.since, 'since', now)
  const until = parseWhen(values.until, 'until', now)
  const types = values.type ? new Set(values.type.flatMap((type) => type.split(',')).map((type) => type.trim()).filter(Boolean)) : undefined
  const sessionRef = values['session-ref']
  const matches = (event: AuditEvent) => {
    if (types && !types.has(event.type)) return false
    if (values.user !== undefined && event.userId !== values.user) return false
    if (sessionRef !== undefined && !(event.sessionRef ?? '').startsWith(sessionRef)) return false
    if (since !== undefined || until !== undefined) {
      const at = Date.parse(event.at)
      if (Number.isNaN(at) || (since !== undefined && at < since) || (until !== undefined && at > until)) return false
    }
    return true
  }
  const files = await withRotated(positionals, values.rotated)
  const decoder = new LineDecoder(loadKeyring(values['key-file'] ?? [], files))
  const print = printer(values.json)
  let problems = 0
  let shownCount = 0
  for (const file of files) {
    for await (const raw of readTextLines(file)) {
      const decoded = decoder.decode(file, raw)
      if (decoded.problem) {
        problems++
        err(problemLine({ file, line: decoded.line, ...decoded.problem }))
        continue
      }
      const shown = shownEvent(decoded)
      if (shown && matches(shown.event as AuditEvent)) {
        print(shown)
        shownCount++
      }
    }
  }
  if (!values.json && shownCount === 0) err('no matching events')
  if (problems > 0) err(`${problems} line(s) could not be read; run \`sesame-audit verify\` for the full check`)
  return 0
}

async function tail(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...common, follow: { type: 'boolean', short: 'f' }, lines: { type: 'string', short: 'n' } },
  })
  const file = positionals[0]
  if (!file || positionals.length > 1) throw new UsageError('tail needs exactly one log file')
  const count = values.lines === undefined ? 20 : Number(values.lines)
  if (!Number.isSafeInteger(count) || count < 0) throw new UsageError('-n must be a non-negative integer')
  const decoder = new LineDecoder(loadKeyring(values['key-file'] ?? [], [file]))
  const print = printer(values.json)
  const controller = new AbortController()
  process.once('SIGINT', () => controller.abort())
  process.once('SIGTERM', () => controller.abort())
  let backlog: ShownEvent[] | undefined = []
  for await (const item of followTextLines(file, { signal: controller.signal })) {
    if ('caughtUp' in item) {
      if (backlog) {
        for (const shown of backlog.slice(Math.max(0, backlog.length - count))) print(shown)
        backlog = undefined
      }
      if (!values.follow) break
      continue
    }
    if ('rotated' in item) {
      err(terminalSafe(`${file}: the file was rotated; following the new file`))
      continue
    }
    const decoded = decoder.decode(file, item)
    if (decoded.problem) {
      err(problemLine({ file, line: decoded.line, ...decoded.problem }))
      continue
    }
    const shown = shownEvent(decoded)
    if (!shown) continue
    if (backlog) {
      backlog.push(shown)
      if (backlog.length > count * 2 + 1000) backlog.splice(0, backlog.length - count)
    } else print(shown)
  }
  return 0
}

async function verify(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...common, 'allow-open': { type: 'boolean' }, rotated: { type: 'boolean' } },
  })
  if (positionals.length === 0) throw new UsageError('verify needs one or more log files')
  const files = await withRotated(positionals, values.rotated)
  const result = await verifyAuditLog(files, { keyring: loadKeyring(values['key-file'] ?? [], files), allowOpen: values['allow-open'] ?? false })
  if (values.json) out(verifyJson(result))
  else {
    for (const problem of result.problems) out(problemLine(problem))
    for (const open of result.open) out(problemLine({ ...open, kind: 'open' }))
    out(verifySummary(result))
  }
  return result.ok ? 0 : 1
}

function keygen(args: string[]): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'key-file': { type: 'string' }, help: common.help } })
  if (positionals.length > 0) throw new UsageError('keygen takes no file arguments (use --key-file)')
  const key = generateKey()
  const id = deriveKey(decodeKey(key, 'keygen')).id
  const file = values['key-file']
  if (!file) {
    out(key)
    err(`key id ${id}`)
    return 0
  }
  let older: Buffer[] = []
  try {
    older = readKeyFile(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    loadOrCreateKeyFile(file)
    older = readKeyFile(file)
    err(`created ${file} (mode 0600) with key id ${deriveKey(older[0]!).id}`)
    return 0
  }
  // Write the new list beside the file, then rename over it: a crash leaves the old file or the new.
  const next = `${file}.${process.pid}.tmp`
  const lines = [key, ...older.map((bytes) => bytes.toString('base64url'))]
  writeFileSync(next, `# sesame audit key: first key writes, every key listed reads. Keep this file mode 0600.\n${lines.join('\n')}\n`, { mode: 0o600, flag: 'wx' })
  renameSync(next, file)
  err(`wrote key id ${id} first in ${file}; ${older.length} older key(s) kept for reading`)
  return 0
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv
  try {
    switch (command) {
      case 'query':
        return await query(args)
      case 'tail':
        return await tail(args)
      case 'verify':
        return await verify(args)
      case 'keygen':
        return keygen(args)
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out(USAGE)
        return command === undefined ? 2 : 0
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`)
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`sesame-audit: ${terminalSafe((error as Error).message)}\n\n${USAGE}`)
      return 2
    }
    const code = (error as NodeJS.ErrnoException).code
    if (error instanceof AuditConfigError || (typeof code === 'string' && /^(AUDIT_|E[A-Z]+$)/.test(code))) {
      const message = terminalSafe((error as Error).message)
      err(message.startsWith('sesame') ? message : `sesame-audit: ${message}`)
      return 2
    }
    throw error
  }
}

// `sesame-audit query ... | head` closes the pipe early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0)
  throw error
})

process.exitCode = await main(process.argv.slice(2))
