// Audit keys: parsing, key ids, the keyring (first key writes, every key reads) and the key file.
// A key is 32 random bytes. The encryption subkey is derived from it under its own label, so the key
// itself is never used directly and later uses can get their own subkeys. The key id is a hash of the key: it is written on every line
// so a reader given several keys (rotation) picks the right one without trying them all.

import { createHash, hkdfSync, randomBytes } from 'node:crypto'
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { AuditConfigError, AuditKeyFileInsecure, AuditKeyInvalid, AuditKeyMissing } from './errors.js'

export const KEY_BYTES = 32

export interface AuditKey {
  /** 8 base64url characters derived from the key; safe to print. */
  readonly id: string
  /** Subkey from which each writer's AES-256-GCM key is derived. */
  readonly encryptKey: Buffer
}

export interface Keyring {
  /** New lines are written with this key. */
  readonly current: AuditKey
  /** Every key given, by id; old files are read with these. */
  readonly byId: ReadonlyMap<string, AuditKey>
}

/** A key as text (base64url, base64 or hex) or as 32 raw bytes. */
export type KeyInput = string | Uint8Array

/** 32 fresh random bytes as base64url: what `sesame-audit keygen` prints and key files hold. */
export function generateKey(): string {
  return randomBytes(KEY_BYTES).toString('base64url')
}

/** Decode one key; throws AuditKeyInvalid naming `where` (never the key) when it is not 32 bytes. */
export function decodeKey(input: KeyInput, where: string): Buffer {
  if (typeof input !== 'string') {
    if (input.byteLength !== KEY_BYTES) throw new AuditKeyInvalid(where)
    return Buffer.from(input)
  }
  const text = input.trim()
  let bytes: Buffer | undefined
  if (/^[0-9a-fA-F]{64}$/.test(text)) bytes = Buffer.from(text, 'hex')
  else if (/^[A-Za-z0-9_-]{43}$/.test(text)) bytes = Buffer.from(text, 'base64url')
  else if (/^[A-Za-z0-9+/]{43}=$/.test(text)) bytes = Buffer.from(text, 'base64')
  if (!bytes || bytes.length !== KEY_BYTES) throw new AuditKeyInvalid(where)
  return bytes
}

function subkey(material: Buffer, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), `sesame-audit/v1/${label}`, 32))
}

export function deriveKey(material: Buffer): AuditKey {
  const id = createHash('sha256').update('sesame-audit/v1/key-id').update(material).digest().subarray(0, 6).toString('base64url')
  return { id, encryptKey: subkey(material, 'encrypt') }
}

export function createKeyring(keys: Buffer[]): Keyring {
  if (keys.length === 0) throw new AuditKeyMissing()
  const derived = keys.map(deriveKey)
  return { current: derived[0]!, byId: new Map(derived.map((key) => [key.id, key])) }
}

/** Keys in a text: separated by commas or whitespace; lines starting with # are comments. */
export function parseKeyList(text: string, where: string): Buffer[] {
  return text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join(' ')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((part, index) => decodeKey(part, `${where} (key ${index + 1})`))
}

/**
 * Read a key file, refusing it when group or others can read or write it.
 * The check uses fstat on the opened descriptor, so the file checked is the file read.
 */
export function readKeyFile(file: string): Buffer[] {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW)
  try {
    const { mode } = fstatSync(fd)
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) throw new AuditKeyFileInsecure(file, mode)
    const keys = parseKeyList(readFileSync(fd, 'utf8'), `key file ${file}`)
    if (keys.length === 0) throw new AuditConfigError(`the key file ${file} holds no key. Put one in with \`sesame-audit keygen --key-file ${file}\`.`)
    return keys
  } finally {
    closeSync(fd)
  }
}

/** Where fileSink keeps the key it generates for a log, and where readers look for it by default. */
export function defaultKeyFile(logPath: string): string {
  return join(dirname(logPath), '.sesame-audit', 'key')
}

/**
 * The keys of the default key files of these logs (one per directory), skipping those that do not
 * exist; an insecure or unreadable one is an error, as for any key file.
 */
export function readDefaultKeyFiles(logPaths: string[]): { keys: Buffer[]; searched: string[] } {
  const searched = [...new Set(logPaths.map(defaultKeyFile))]
  const keys: Buffer[] = []
  for (const file of searched) {
    try {
      keys.push(...readKeyFile(file))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
  return { keys, searched }
}

/** Read the key file, or create it (file 0600, a new directory 0700) holding one new key. */
export function loadOrCreateKeyFile(file: string): Buffer[] {
  try {
    return readKeyFile(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  let fd: number
  try {
    // O_EXCL: when two processes start at once, one creates and the other reads what it wrote.
    fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readKeyFileWhenWritten(file)
    throw error
  }
  try {
    writeSync(fd, `# sesame audit key: first key writes, every key listed reads. Keep this file mode 0600.\n${generateKey()}\n`)
  } finally {
    closeSync(fd)
  }
  return readKeyFile(file)
}

function readKeyFileWhenWritten(file: string): Buffer[] {
  // The other process writes the key right after creating the file; give it a moment.
  for (let attempt = 0; ; attempt++) {
    try {
      return readKeyFile(file)
    } catch (error) {
      if (attempt >= 50 || !(error instanceof AuditConfigError)) throw error
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10)
    }
  }
}

export interface KeySources {
  key?: KeyInput | KeyInput[] | undefined
  keyFile?: string | undefined
  /** Value of SESAME_AUDIT_KEY. */
  env?: string | undefined
  /** Create keyFile when it does not exist (the sink does; readers never invent a key). */
  create?: boolean
}

/** Option first, then SESAME_AUDIT_KEY, then the key file. */
export function resolveKeyring(sources: KeySources): Keyring {
  if (sources.key !== undefined) {
    const list = Array.isArray(sources.key) ? sources.key : [sources.key]
    return createKeyring(list.map((key, index) => decodeKey(key, list.length > 1 ? `the key option (key ${index + 1})` : 'the key option')))
  }
  if (sources.env !== undefined && sources.env.trim() !== '') return createKeyring(parseKeyList(sources.env, 'SESAME_AUDIT_KEY'))
  if (sources.keyFile !== undefined) {
    return createKeyring(sources.create ? loadOrCreateKeyFile(sources.keyFile) : readKeyFile(sources.keyFile))
  }
  throw new AuditKeyMissing()
}
