// fileSink: the LogSink that appends encrypted, chained lines to a file.
//
// write() runs on the request path: it clips the client's fields, serializes the event and enqueues
// it; it never touches the disk and never throws. A drain, run flushInterval after the first event
// queued since the last one (so a busy server pays for one drain per window, not one per event-loop
// turn), checks the file, encrypts what is queued and appends it with ONE write() of whole lines on an
// O_APPEND descriptor, so lines from several processes never interleave. flush() and close(), a queue
// holding a full batch, and a burst longer than one batch drain at once (setImmediate).
// Every append starts with a newline: a writer killed inside its write leaves a fragment without one,
// and the next append (ours or another process's) must not continue that line.
// Before each batch the path is stat'ed: when its inode changed (logrotate moved it) the current
// segment is closed in the old file and a new one starts in the new file; when the batch would take
// the file past maxFileBytes, the sink rotates first or cuts the batch to the room left. Each file
// segment is its own writer with its own id and chain.

import { closeSync, constants, fdatasync, fstatSync, mkdirSync, openSync, renameSync, statSync, write, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname } from 'node:path'
import { parseDuration, type AuditEvent, type LogSink } from '@sesame/core'
import { ChainWriter, lineBytes, type ControlRecord } from './chain.js'
import { AuditConfigError, AuditWriteFailed } from './errors.js'
import { defaultKeyFile, resolveKeyring, type KeyInput, type Keyring } from './keys.js'
import { BoundedQueue, DropCounter } from './queue.js'
import { applyRetention, rotatedName, shouldRotate, type RotationPolicy } from './rotation.js'
import { serializeEvent } from './serialize.js'

export type OverflowPolicy = 'drop' | 'block'

export interface FileSinkOptions {
  /** The log file. Its directory is created (mode 0700) when missing. */
  path: string
  /** Key(s): 32 bytes, or base64url/hex text. The first writes; all are accepted for reading. */
  key?: KeyInput | KeyInput[]
  /** Key file used when neither `key` nor SESAME_AUDIT_KEY is set; created (0600) when missing. Default `<dir of path>/.sesame-audit/key`. */
  keyFile?: string
  /** Queue bound in events. Default 10_000. */
  maxQueueEvents?: number
  /** Queue bound in bytes of serialized events. Default 8 MiB. */
  maxQueueBytes?: number
  /** What write() does when the queue is full. Default 'drop'. */
  overflow?: OverflowPolicy
  /** Largest single append, and most encrypted per event-loop turn. Default 1 MiB. */
  maxBatchBytes?: number
  /** Rotate when the file reaches this size. Default 64 MiB; 0 never. */
  maxFileBytes?: number
  /** Rotate when the file is this old (ms or '1d'). Default '1d'; 0 never. */
  maxFileAge?: number | string
  /** Delete rotated files older than this (ms or '90d'). Default '90d'; 0 keeps them forever. */
  retention?: number | string
  /** Longest kept value of a client-derived field (user agent, path, user id...). Default 512. */
  maxFieldLength?: number
  /**
   * Wait this long (ms or '20ms') after an event before encrypting and appending it, so that one
   * append carries every event of the window. Default 20; 0 drains at the end of every event-loop turn.
   */
  flushInterval?: number | string
  /** fdatasync after every batch instead of only on flush()/close(). Default false. */
  syncEveryBatch?: boolean
  /** Wait before retrying after a failed write (ms or '1s'). Default 1000. */
  retryDelay?: number | string
  /** Where write, rotation and retention failures go. Default: one line on console.error. */
  onError?: (error: unknown) => void
  /** Clock for rotation and retention (tests). Default Date.now. */
  now?: () => number
}

export interface FileSinkStats {
  /** Records accepted into the queue (events, and the summaries of dropped events). */
  accepted: number
  /** Records on disk (the write() system call returned). */
  written: number
  /** Events refused because the queue was full. */
  dropped: number
  queuedEvents: number
  queuedBytes: number
  /** Writer id of the current segment (undefined before the first line). */
  writer: string | undefined
}

export interface FileSink extends LogSink {
  readonly path: string
  /** Id of the key new lines are written with (safe to print). */
  readonly keyId: string
  stats(): FileSinkStats
}

const MiB = 1024 * 1024

function duration(value: number | string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  const ms = parseDuration(value)
  if (ms === undefined) throw new AuditConfigError(`${name} must be milliseconds or a duration like '1d' (got ${JSON.stringify(value)}).`)
  return ms
}

function positive(value: number | undefined, fallback: number, name: string, allowZero = false): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 0 || (!allowZero && value === 0)) {
    throw new AuditConfigError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer (got ${String(value)}).`)
  }
  return value
}

function defaultOnError(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error)
  console.error(message.startsWith('sesame') ? message : `sesame audit-log: ${message}`)
}

export function fileSink(options: FileSinkOptions): FileSink {
  return new FileAuditSink(options)
}

interface Batch {
  bytes: Buffer
  /** Queued records in the batch. */
  records: number
}

/** After a rotation failed (say, no permission to rename), wait this long before trying again. */
const ROTATION_RETRY_MS = 60_000

/** The longest reason a writer closes a segment with (it sizes the room kept for the close record). */
const REPLACED = 'path replaced (moved or deleted)'
/** A time as the records spell it (every ISO time until the year 10000 has this length). */
const SAMPLE_TIME = '2026-01-01T00:00:00.000Z'

interface FlushWaiter {
  upTo: number
  resolve: () => void
  reject: (error: unknown) => void
}

class FileAuditSink implements FileSink {
  readonly path: string
  readonly keyId: string
  readonly #keyring: Keyring
  readonly #queue: BoundedQueue
  readonly #dropped = new DropCounter()
  readonly #overflow: OverflowPolicy
  readonly #maxBatchBytes: number
  readonly #maxFieldLength: number
  readonly #rotation: RotationPolicy
  readonly #retentionMs: number
  readonly #retryDelayMs: number
  readonly #syncEveryBatch: boolean
  readonly #flushIntervalMs: number
  readonly #onError: (error: unknown) => void
  readonly #now: () => number
  /** Upper bounds of a segment's open and close lines, each with the newline before it. */
  readonly #openLineBytes: number
  readonly #closeLineBytes: number

  #fd: number | undefined
  #inode = 0
  #device = 0
  #fileStartedAt = 0
  /** The file's size when it was last checked (right before the batch being written was made). */
  #fileBytes = 0
  #chain: ChainWriter | undefined
  #previousSegment: { writer: string; seq: number; reason: string } | undefined

  #accepted = 0
  #written = 0
  #droppedTotal = 0
  /** An append in progress (libuv pool). */
  #inFlight: Batch | undefined
  /** An append that failed: retried before anything else, so the chain stays in order. */
  #failedBatch: Batch | undefined
  #rotationPausedUntil = 0
  #scheduled = false
  /** The pending drain is a window timer (not an immediate): flush() brings it forward. */
  #windowTimer: NodeJS.Timeout | undefined
  readonly #runDrain = (): void => {
    this.#scheduled = false
    this.#windowTimer = undefined
    this.#drain()
  }
  #retryTimer: NodeJS.Timeout | undefined
  #waiters: FlushWaiter[] = []
  #maintenance: Promise<void> = Promise.resolve()
  #closing = false
  #closed = false
  #closePromise: Promise<void> | undefined
  #reportedWriteAfterClose = false

  constructor(options: FileSinkOptions) {
    if (!options || typeof options.path !== 'string' || options.path === '') throw new AuditConfigError('fileSink needs { path }.')
    this.path = options.path
    this.#overflow = options.overflow ?? 'drop'
    if (this.#overflow !== 'drop' && this.#overflow !== 'block') throw new AuditConfigError(`overflow must be 'drop' or 'block' (got ${JSON.stringify(options.overflow)}).`)
    this.#queue = new BoundedQueue(positive(options.maxQueueEvents, 10_000, 'maxQueueEvents'), positive(options.maxQueueBytes, 8 * MiB, 'maxQueueBytes'))
    this.#maxBatchBytes = positive(options.maxBatchBytes, MiB, 'maxBatchBytes')
    this.#maxFieldLength = positive(options.maxFieldLength, 512, 'maxFieldLength')
    this.#rotation = {
      maxFileBytes: positive(options.maxFileBytes, 64 * MiB, 'maxFileBytes', true),
      maxFileAgeMs: duration(options.maxFileAge, 86_400_000, 'maxFileAge'),
    }
    this.#retentionMs = duration(options.retention, 90 * 86_400_000, 'retention')
    this.#retryDelayMs = duration(options.retryDelay, 1000, 'retryDelay')
    this.#syncEveryBatch = options.syncEveryBatch ?? false
    this.#flushIntervalMs = duration(options.flushInterval, 20, 'flushInterval')
    this.#onError = options.onError ?? defaultOnError
    this.#now = options.now ?? Date.now
    this.#keyring = resolveKeyring({
      key: options.key,
      env: process.env.SESAME_AUDIT_KEY,
      keyFile: options.keyFile ?? defaultKeyFile(this.path),
      create: true,
    })
    this.keyId = this.#keyring.current.id
    const longestSeq = Number.MAX_SAFE_INTEGER
    const previous = { writer: 'w'.repeat(16), seq: longestSeq, reason: REPLACED }
    const open = { $: 'open', at: SAMPLE_TIME, pid: process.pid, host: hostname(), previous } satisfies ControlRecord
    this.#openLineBytes = 1 + lineBytes(Buffer.byteLength(JSON.stringify(open)), 0)
    const close = { $: 'close', at: SAMPLE_TIME, reason: REPLACED, lines: longestSeq } satisfies ControlRecord
    this.#closeLineBytes = 1 + lineBytes(Buffer.byteLength(JSON.stringify(close)), longestSeq)
    // Open now so that a wrong path or permission fails at start-up, not in the first request.
    this.#open()
    this.#runRetention()
  }

  write(event: AuditEvent): void {
    try {
      if (this.#closing) {
        if (!this.#reportedWriteAfterClose) {
          this.#reportedWriteAfterClose = true
          this.#onError(new AuditConfigError(`an event was written to the audit sink for ${this.path} after close(); it was not logged.`))
        }
        return
      }
      const json = serializeEvent(event, this.#maxFieldLength)
      if (!this.#queue.hasRoom(json.length)) {
        // 'block': the caller waits for the disk here rather than lose the event.
        if (this.#overflow === 'block') this.#drainNow()
        if (!this.#queue.hasRoom(json.length)) {
          this.#dropped.record(new Date(this.#now()).toISOString(), 'queue_full')
          this.#droppedTotal++
          return
        }
      }
      this.#admitDropSummary()
      this.#queue.push(json)
      this.#accepted++
      this.#schedule(this.#backlogged())
    } catch (error) {
      this.#onError(error)
    }
  }

  flush(): Promise<void> {
    // Drops with no event after them yet: log their count now rather than wait for the next event.
    if (!this.#closed) this.#admitDropSummary()
    const upTo = this.#accepted
    const settled = new Promise<void>((resolve, reject) => {
      if (this.#written >= upTo) resolve()
      else {
        this.#waiters.push({ upTo, resolve, reject })
        this.#schedule(true)
      }
    })
    return settled.then(() => this.#maintenance).then(() => this.#sync())
  }

  close(): Promise<void> {
    // Two close() calls (the app's shutdown hook and the engine's) share one closing.
    this.#closePromise ??= this.#close()
    return this.#closePromise
  }

  async #close(): Promise<void> {
    this.#closing = true
    try {
      await this.flush()
    } finally {
      this.#closed = true
      clearTimeout(this.#retryTimer)
      this.#retryTimer = undefined
      clearTimeout(this.#windowTimer)
      this.#windowTimer = undefined
      const fd = this.#fd
      this.#fd = undefined
      if (fd !== undefined) {
        try {
          if (this.#chain) writeAll(fd, Buffer.from(`\n${this.#closeLine('closed')}`, 'latin1'))
          await syncFd(fd)
        } catch (error) {
          this.#onError(new AuditWriteFailed(this.path, 'closing', { cause: error }))
        } finally {
          closeSync(fd)
        }
      }
      await this.#maintenance
    }
  }

  stats(): FileSinkStats {
    return {
      accepted: this.#accepted,
      written: this.#written,
      dropped: this.#droppedTotal,
      queuedEvents: this.#queue.length,
      queuedBytes: this.#queue.bytes,
      writer: this.#chain?.writer,
    }
  }

  /** A full batch waiting, or the queue half full: no point waiting for the window to end. */
  #backlogged(): boolean {
    return this.#queue.bytes >= this.#maxBatchBytes || this.#queue.length * 2 >= this.#queue.maxEvents
  }

  /** Drain at the end of the window (or `soon`: at the end of this event-loop turn). */
  #schedule(soon = false): void {
    if (this.#retryTimer || this.#closed) return
    if (this.#scheduled) {
      if (soon && this.#windowTimer) {
        clearTimeout(this.#windowTimer)
        this.#windowTimer = undefined
        setImmediate(this.#runDrain)
      }
      return
    }
    this.#scheduled = true
    if (soon || this.#flushIntervalMs === 0) setImmediate(this.#runDrain)
    else this.#windowTimer = setTimeout(this.#runDrain, this.#flushIntervalMs)
  }

  /**
   * One step of the write-behind loop, run from a timer or setImmediate and after each append
   * completes: check the file, encrypt one batch (at most maxBatchBytes, at most the room left in the
   * file) and hand it to write(2) on the libuv pool. One append at a time, so the size checked is the
   * size the batch lands on.
   */
  #drain(): void {
    if (this.#retryTimer || this.#closed) return
    if (this.#overflow === 'block') {
      this.#drainNow()
      this.#settleWaiters()
      return
    }
    if (this.#inFlight) return
    const batch = this.#nextBatch()
    if (!batch) {
      this.#settleWaiters()
      return
    }
    this.#startWrite(batch)
  }

  #startWrite(batch: Batch): void {
    this.#inFlight = batch
    writeAllAsync(this.#fd!, batch.bytes, (error) => {
      this.#inFlight = undefined
      if (error) this.#failed(batch, error)
      else this.#markWritten(batch)
      this.#settleWaiters()
      // A failed batch to retry, someone waiting in flush(), or a backlog: go on now. Otherwise the next window.
      if (this.#failedBatch || this.#waiters.length > 0 || this.#backlogged()) this.#schedule(true)
      else if (this.#queue.length > 0) this.#schedule()
    })
  }

  /** Write everything queued synchronously ('block' overflow: the caller waits for the disk). */
  #drainNow(): void {
    while (!this.#retryTimer && (this.#failedBatch || this.#queue.length > 0)) {
      const batch = this.#nextBatch()
      if (!batch) return
      try {
        writeAll(this.#fd!, batch.bytes)
        this.#markWritten(batch)
      } catch (error) {
        this.#failed(batch, error)
      }
    }
  }

  /**
   * The next append: the one that failed before (so the chain stays in order), else a new batch made
   * right after checking the file (rotation, a moved file, the room left). Undefined when there is
   * nothing to write or the check failed (then a retry is scheduled).
   */
  #nextBatch(): Batch | undefined {
    if (this.#failedBatch) return this.#failedBatch
    if (this.#queue.length === 0) return undefined
    try {
      this.#checkFile()
    } catch (error) {
      this.#failed(undefined, error)
      return undefined
    }
    return this.#encodeBatch()
  }

  /** Bytes the next append needs at the least: its newline, the open record of a new segment, the first queued line. */
  #nextAppendBytes(): number {
    const first = Buffer.byteLength(this.#queue.peek()!)
    return this.#chain ? 1 + this.#chain.nextLineBytes(first) : this.#openLineBytes + 1 + lineBytes(first, 1)
  }

  /**
   * Encrypt and chain the oldest queued records into one append: a newline first (so the append starts
   * on a fresh line whatever a crashed writer left before it), then the lines, up to maxBatchBytes and
   * up to the room left in the file below maxFileBytes (keeping room for the close record). The first
   * record always goes: #checkFile rotated when it did not fit.
   */
  #encodeBatch(): Batch {
    let text = '\n'
    let chain = this.#chain
    if (!chain) {
      chain = this.#startSegment()
      text += chain.line(JSON.stringify(this.#openRecord()))
    }
    // While rotation is paused after a failed rename, the file grows past the limit: full batches then.
    const maxFile = this.#now() >= this.#rotationPausedUntil ? this.#rotation.maxFileBytes : 0
    const budget = Math.min(this.#maxBatchBytes, maxFile > 0 ? maxFile - this.#fileBytes - this.#closeLineBytes : Infinity)
    let bytes = text.length
    let records = 0
    while (this.#queue.length > 0) {
      const size = chain.nextLineBytes(Buffer.byteLength(this.#queue.peek()!))
      if (records > 0 && bytes + size > budget) break
      text += chain.line(this.#queue.shift()!)
      bytes += size
      records++
    }
    // Lines are ASCII (base64url and JSON punctuation): latin1 copies them as they are.
    return { bytes: Buffer.from(text, 'latin1'), records }
  }

  /**
   * After events were dropped, the first record to get into the queue again says how many and when,
   * so the gap is visible at its place in the log.
   */
  #admitDropSummary(): void {
    const dropped = this.#dropped.take()
    if (!dropped) return
    this.#queue.push(JSON.stringify({ $: 'dropped', at: new Date(this.#now()).toISOString(), ...dropped } satisfies ControlRecord))
    this.#accepted++
    this.#schedule()
  }

  #markWritten(batch: Batch): void {
    if (this.#failedBatch === batch) this.#failedBatch = undefined
    this.#written += batch.records
    if (this.#syncEveryBatch && this.#fd !== undefined) fdatasyncQuiet(this.#fd)
  }

  #failed(batch: Batch | undefined, error: unknown): void {
    if (batch) this.#failedBatch = batch
    this.#onError(error instanceof AuditWriteFailed ? error : new AuditWriteFailed(this.path, 'appending to', { cause: error }))
    const waiters = this.#waiters
    this.#waiters = []
    for (const waiter of waiters) waiter.reject(new AuditWriteFailed(this.path, 'flushing', { cause: error }))
    if (!this.#closing) {
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined
        this.#schedule(true)
      }, this.#retryDelayMs)
      this.#retryTimer.unref()
    }
  }

  #settleWaiters(): void {
    if (this.#waiters.length === 0) return
    this.#waiters = this.#waiters.filter((waiter) => {
      if (this.#written >= waiter.upTo) {
        waiter.resolve()
        return false
      }
      return true
    })
  }

  async #sync(): Promise<void> {
    if (this.#fd !== undefined) await syncFd(this.#fd)
  }

  /** Open `path` for appending; remember its inode to notice when it is moved away. */
  #open(): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 })
    const fd = openSync(this.path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT, 0o600)
    const info = fstatSync(fd)
    this.#fd = fd
    this.#inode = info.ino
    this.#device = info.dev
    this.#fileStartedAt = info.size === 0 ? this.#now() : info.birthtimeMs || info.ctimeMs
    this.#fileBytes = info.size
  }

  #startSegment(): ChainWriter {
    const chain = new ChainWriter(this.#keyring.current)
    this.#chain = chain
    return chain
  }

  #openRecord(): ControlRecord {
    const open: ControlRecord = { $: 'open', at: new Date(this.#now()).toISOString(), pid: process.pid, host: hostname() }
    if (this.#previousSegment) open.previous = this.#previousSegment
    return open
  }

  #closeLine(reason: string): string {
    const chain = this.#chain!
    const lines = chain.seq + 1
    const line = chain.line(JSON.stringify({ $: 'close', at: new Date(this.#now()).toISOString(), reason, lines } satisfies ControlRecord))
    this.#previousSegment = { writer: chain.writer, seq: chain.seq - 1, reason }
    this.#chain = undefined
    return line
  }

  /**
   * Before every batch: follow an external rotation (the path names another file now), then rotate
   * ourselves when the next append would take the file past maxFileBytes or the file is too old.
   * Leaves #fileBytes at the size the next append lands on (this process appends one batch at a time;
   * other processes appending to the same file can still add theirs in between).
   */
  #checkFile(): void {
    if (this.#fd === undefined) this.#open()
    else {
      let info: ReturnType<typeof statSync> | undefined
      try {
        info = statSync(this.path)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      }
      if (!info || info.ino !== this.#inode || info.dev !== this.#device) this.#reopen(REPLACED)
      else this.#fileBytes = Number(info.size)
    }
    const now = this.#now()
    const needed = this.#nextAppendBytes() + this.#closeLineBytes
    if (now >= this.#rotationPausedUntil && shouldRotate(this.#rotation, this.#fileBytes, needed, this.#fileStartedAt, now)) {
      const target = rotatedName(this.path, now)
      this.#endSegmentInCurrentFile('rotated')
      try {
        renameSync(this.path, target)
      } catch (error) {
        // Another process rotated it first (ENOENT): then the path is already a new file. Otherwise
        // keep appending to this file and try again later, rather than at every batch.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.#rotationPausedUntil = now + ROTATION_RETRY_MS
          this.#onError(new AuditWriteFailed(this.path, 'rotating', { cause: error }))
        }
      }
      this.#reopenAfterEnd()
      this.#runRetention()
    }
  }

  #reopen(reason: string): void {
    this.#endSegmentInCurrentFile(reason)
    this.#reopenAfterEnd()
  }

  #endSegmentInCurrentFile(reason: string): void {
    if (this.#chain) writeAll(this.#fd!, Buffer.from(`\n${this.#closeLine(reason)}`, 'latin1'))
  }

  #reopenAfterEnd(): void {
    const fd = this.#fd!
    this.#fd = undefined
    closeSync(fd)
    this.#open()
  }

  #runRetention(): void {
    const now = this.#now()
    this.#maintenance = this.#maintenance
      .then(() => applyRetention(this.path, this.#retentionMs, now))
      .then(
        () => undefined,
        (error: unknown) => this.#onError(new AuditWriteFailed(this.path, 'deleting old rotated files of', { cause: error })),
      )
  }
}

/** One write() call for the whole buffer; loop only on a short write (rare: disk full, signals). */
function writeAll(fd: number, bytes: Buffer): void {
  let offset = 0
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset)
}

function writeAllAsync(fd: number, bytes: Buffer, done: (error: Error | null) => void, offset = 0): void {
  write(fd, bytes, offset, bytes.length - offset, null, (error, written) => {
    if (error) return done(error)
    if (offset + written < bytes.length) return writeAllAsync(fd, bytes, done, offset + written)
    done(null)
  })
}

function syncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())))
}

function fdatasyncQuiet(fd: number): void {
  fdatasync(fd, () => undefined)
}

