// Typed failures of the audit log, each with a stable `code`. Messages say what to do and never
// carry key material or event contents.

import { SesameError } from '@sesame/core'

/** An option of fileSink / the reader is wrong. Thrown at start-up, never from write(). */
export class AuditConfigError extends SesameError {
  constructor(message: string) {
    super('AUDIT_CONFIG_INVALID', `sesame audit-log: ${message}`)
  }
}

/** A key (option, SESAME_AUDIT_KEY or key file line) is not 32 bytes of base64url or hex. */
export class AuditKeyInvalid extends SesameError {
  constructor(where: string) {
    super(
      'AUDIT_KEY_INVALID',
      `sesame audit-log: the audit key from ${where} is not a 32-byte key (43 base64url characters or 64 hex digits). Generate one with \`sesame-audit keygen\`.`,
    )
  }
}

/** A key file can be read by group or others: anyone on the machine could decrypt and forge the trail. */
export class AuditKeyFileInsecure extends SesameError {
  readonly file: string
  constructor(file: string, mode: number) {
    super(
      'AUDIT_KEY_FILE_INSECURE',
      `sesame audit-log: the key file ${file} has mode ${(mode & 0o777).toString(8).padStart(4, '0')} and can be read by other users; refusing to use it. Fix it with: chmod 600 ${file}`,
    )
    this.file = file
  }
}

/** Reading needs a key and none was given. `searched`: the default key files looked for, which do not exist. */
export class AuditKeyMissing extends SesameError {
  constructor(searched: string[] = []) {
    const where = searched.length > 0 ? ` (no key file at ${searched.join(', ')})` : ''
    super(
      'AUDIT_KEY_MISSING',
      `sesame audit-log: no audit key${where}: set SESAME_AUDIT_KEY or pass --key-file (the file fileSink generated, by default .sesame-audit/key next to the log).`,
    )
  }
}

/** Writing to the log file failed; passed to `onError` with the system error as `cause`. */
export class AuditWriteFailed extends SesameError {
  readonly file: string
  constructor(file: string, operation: string, options?: { cause?: unknown }) {
    const code = (options?.cause as { code?: unknown } | undefined)?.code
    super(
      'AUDIT_WRITE_FAILED',
      `sesame audit-log: ${operation} ${file} failed${typeof code === 'string' ? ` (${code})` : ''}; queued events are kept and retried, events beyond the queue bound are counted as dropped.`,
      500,
      options,
    )
    this.file = file
  }
}
