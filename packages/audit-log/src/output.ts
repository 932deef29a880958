// How the CLI prints events, problems and verify results. Everything goes through terminalSafe /
// terminalSafeJson: the log holds client-chosen text, and a terminal must never interpret it.

import type { AuditEvent } from '@sesame/core'
import type { ControlRecord } from './chain.js'
import type { DecodedLine } from './reader.js'
import { terminalSafe, terminalSafeJson } from './sanitize.js'
import type { VerifyResult } from './verify.js'

/** An event as shown: audit events, and the writer's "dropped" records as type audit.dropped. */
export interface ShownEvent {
  file: string
  line: number
  event: AuditEvent | (Omit<ControlRecord, '$'> & { type: string; at: string })
}

export function shownEvent(decoded: DecodedLine): ShownEvent | undefined {
  if (decoded.event) return { file: decoded.file, line: decoded.line, event: decoded.event }
  if (decoded.control?.$ === 'dropped') {
    const { $: _kind, ...rest } = decoded.control
    return { file: decoded.file, line: decoded.line, event: { type: 'audit.dropped', ...rest } }
  }
  return undefined
}

const COLUMNS: Array<{ title: string; width: number }> = [
  { title: 'TIME', width: 24 },
  { title: 'TYPE', width: 17 },
  { title: 'USER', width: 16 },
  { title: 'SESSION', width: 22 },
  { title: 'IP', width: 15 },
  { title: 'REQUEST', width: 32 },
]

function cell(value: string | undefined, width: number): string {
  const text = terminalSafe(value ?? '-')
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width)
}

function detail(event: Record<string, unknown>): string {
  const parts: string[] = []
  for (const key of ['reason', 'count', 'ageMs', 'idleMs', 'operation', 'error', 'since', 'until']) {
    const value = event[key]
    if (value !== undefined) parts.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
  }
  return terminalSafe(parts.join(' '))
}

export function tableHeader(): string {
  return `${COLUMNS.map((column) => column.title.padEnd(column.width)).join(' ')} DETAIL`
}

export function tableRow(shown: ShownEvent): string {
  const event = shown.event as Record<string, unknown> & { type: string; at: string }
  const str = (value: unknown) => (typeof value === 'string' ? value : undefined)
  const request = [str(event.method), str(event.path)].filter(Boolean).join(' ')
  const values = [str(event.at), event.type, str(event.userId), str(event.sessionRef), str(event.ip), request || undefined]
  return `${values.map((value, index) => cell(value, COLUMNS[index]!.width)).join(' ')} ${detail(event)}`.trimEnd()
}

export function jsonRow(shown: ShownEvent): string {
  return terminalSafeJson({ file: shown.file, line: shown.line, ...shown.event })
}

export function problemLine(problem: { file: string; line: number; kind: string; message: string }): string {
  return terminalSafe(`${problem.file}:${problem.line}: ${problem.kind}: ${problem.message}`)
}

export function verifySummary(result: VerifyResult): string {
  const segments = result.writers.length
  const head = `${result.verified} of ${result.lines} lines verified in ${segments} writer segment${segments === 1 ? '' : 's'} across ${result.files.length} file${result.files.length === 1 ? '' : 's'}`
  const open = result.open.length > 0 ? `; ${result.open.length} still open (a writer still writing)` : ''
  return terminalSafe(result.ok ? `OK: ${head}${open}` : `FAILED: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}; ${head}${open}`)
}

export function verifyJson(result: VerifyResult): string {
  return terminalSafeJson(result)
}

