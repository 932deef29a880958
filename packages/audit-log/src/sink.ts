// fileSink: the LogSink that appends encrypted, chained lines to a file.
//
// write() runs on the request path: it clips the client's fields, serializes the event and enqueues
// it; it never touches the disk and never throws. A drain, run flushInterval after the first event
// queued since the last one (so a busy server pays for one drain per window, not one per event-loop
// turn), encrypts what is queued and appends it with ONE write() of whole lines on an O_APPEND
// descriptor, so lines from several processes never interleave. flush() and close(), a queue holding
// a full batch, and a burst longer than one batch drain at once (setImmediate). Before each drain
// window the path is stat'ed: when its inode changed
// (logrotate moved it) the current segment is closed in the old file and a new one starts in the new
// file. Each file segment is its own writer with its own id and chain.

import { closeSync, constants, fdatasync, fstatSync, mkdirSync, openSync, readSync, renameSync, statSync, write, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import { parseDuration, type AuditEvent, type LogSink } from '@sesame/core'
import { ChainWriter, type ControlRecord } from './chain.js'
import { AuditConfigError, AuditWriteFailed } from './errors.js'
import { resolveKeyring, type KeyInput, type Keyring } from './keys.js'
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

/** Under constant load, pause encrypting ahead this often so the file can be checked for rotation. */
const FILE_CHECK_INTERVAL_MS = 1000
/** After a rotation failed (say, no permission to rename), wait this long before trying again. */
const ROTATION_RETRY_MS = 60_000

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

  #fd: number | undefined
  #inode = 0
  #device = 0
  #fileStartedAt = 0
  /** The file's size at the last stat, plus what this process appended since: when to look again. */
  #fileBytes = 0
  #chain: ChainWriter | undefined
  #previousSegment: { writer: string; seq: number; reason: string } | undefined
  /** Text to put before the next batch: a newline ending a torn line, and the segment's open record. */
  #header = ''

  #accepted = 0
  #written = 0
  #droppedTotal = 0
  /** Encrypted and chained, waiting for the next append. */
  #ready: { parts: Buffer[]; bytes: number; records: number } = { parts: [], bytes: 0, records: 0 }
  /** An append in progress (libuv pool). */
  #inFlight: Batch | undefined
  /** An append that failed: retried before anything else, so the chain stays in order. */
  #failedBatch: Batch | undefined
  #lastFileCheck = 0
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
      keyFile: options.keyFile ?? join(dirname(this.path), '.sesame-audit', 'key'),
      create: true,
    })
    this.keyId = this.#keyring.current.id
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
      // A full batch waiting, the queue half full, or the file about to reach maxFileBytes (rotation
      // by size stays as exact as without the window): no point waiting for the window to end.
      const queued = this.#queue.bytes
      const maxFile = this.#rotation.maxFileBytes
      this.#schedule(queued >= this.#maxBatchBytes || this.#queue.length * 2 >= this.#queue.maxEvents || (maxFile > 0 && this.#fileBytes + queued >= maxFile))
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
          if (this.#chain) writeAll(fd, Buffer.from(this.#closeLine('closed')))
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
   * One step of the write-behind loop, run from setImmediate and after each write completes.
   * Encryption happens on this thread, at most about twice maxBatchBytes per turn (the batch to write
   * and the one after it), so a burst holds the event loop for a bounded time; while one append is in
   * flight (on the libuv pool) the next batch is already being encrypted. The file is checked for rotation only at a
   * quiet point (nothing encrypted but unwritten), because encrypted lines belong to the open segment.
   */
  #drain(): void {
    if (this.#retryTimer || this.#closed) return
    if (this.#overflow === 'block') {
      this.#drainNow()
      this.#settleWaiters()
      return
    }
    if (!this.#inFlight) {
      if (!this.#failedBatch && this.#ready.records === 0 && this.#queue.length > 0 && !this.#checkFileSafely()) return
      if (!this.#failedBatch && this.#ready.records === 0) this.#encodeSlice()
      const batch = this.#takeBatch()
      if (!batch) {
        this.#settleWaiters()
        return
      }
      this.#startWrite(batch)
    }
    // Encrypt ahead while the write is in flight, unless a file check is due: that needs the quiet point.
    const checkDue = this.#now() - this.#lastFileCheck >= FILE_CHECK_INTERVAL_MS
    if (this.#queue.length > 0 && this.#ready.bytes < this.#maxBatchBytes && !checkDue) {
      this.#encodeSlice()
      if (this.#queue.length > 0 && this.#ready.bytes < this.#maxBatchBytes) this.#schedule(true)
    }
  }

  #startWrite(batch: Batch): void {
    this.#inFlight = batch
    writeAllAsync(this.#fd!, batch.bytes, (error) => {
      this.#inFlight = undefined
      if (error) this.#failed(batch, error)
      else this.#markWritten(batch)
      this.#settleWaiters()
      // Encrypted lines waiting, or someone waiting in flush(): go on now. Only newly queued events: next window.
      if (this.#failedBatch || this.#ready.records > 0 || this.#waiters.length > 0) this.#schedule(true)
      else if (this.#queue.length > 0) this.#schedule()
    })
  }

  /** Write everything queued synchronously ('block' overflow: the caller waits for the disk). */
  #drainNow(): void {
    while (!this.#retryTimer && (this.#failedBatch || this.#ready.records > 0 || this.#queue.length > 0)) {
      if (!this.#failedBatch && this.#ready.records === 0 && !this.#checkFileSafely()) return
      while (this.#queue.length > 0 && this.#ready.bytes < this.#maxBatchBytes) this.#encodeSlice()
      const batch = this.#takeBatch()!
      try {
        writeAll(this.#fd!, batch.bytes)
        this.#markWritten(batch)
      } catch (error) {
        this.#failed(batch, error)
      }
    }
  }

  #checkFileSafely(): boolean {
    try {
      this.#checkFile()
      this.#lastFileCheck = this.#now()
      return true
    } catch (error) {
      this.#failed(undefined, error)
      return false
    }
  }

  /** Encrypt and chain the oldest queued records into the ready text, up to maxBatchBytes ready. */
  #encodeSlice(): void {
    if (this.#queue.length === 0) return
    const chain = this.#chain ?? this.#startSegment()
    if (this.#header !== '') {
      // Lines are ASCII (base64url and JSON punctuation): latin1 copies them as they are.
      const header = Buffer.from(this.#header, 'latin1')
      this.#header = ''
      this.#ready.parts.push(header)
      this.#ready.bytes += header.length
    }
    const records = this.#queue.take(Math.max(1, this.#maxBatchBytes - this.#ready.bytes))
    const lines = chain.linesBytes(records)
    this.#ready.parts.push(lines)
    this.#ready.bytes += lines.length
    this.#ready.records += records.length
  }

  /** The next append: the one that failed before (so the chain stays in order), else what is ready. */
  #takeBatch(): Batch | undefined {
    if (this.#failedBatch) return this.#failedBatch
    if (this.#ready.records === 0 && this.#ready.parts.length === 0) return undefined
    const parts = this.#ready.parts
    const batch = { bytes: parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.#ready.bytes), records: this.#ready.records }
    this.#ready = { parts: [], bytes: 0, records: 0 }
    return batch
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
    this.#fileBytes += batch.bytes.length
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
    // A crash mid-write may have left a torn last line: start on a fresh line so ours stay whole.
    if (info.size > 0) {
      const last = Buffer.alloc(1)
      readSync(fd, last, 0, 1, info.size - 1)
      if (last[0] !== 0x0a) this.#header = '\n'
    }
  }

  #startSegment(): ChainWriter {
    const chain = new ChainWriter(this.#keyring.current)
    this.#chain = chain
    const open: ControlRecord = { $: 'open', at: new Date(this.#now()).toISOString(), pid: process.pid, host: hostname() }
    if (this.#previousSegment) open.previous = this.#previousSegment
    this.#header += chain.line(JSON.stringify(open))
    return chain
  }

  #closeLine(reason: string): string {
    const chain = this.#chain!
    const lines = chain.seq + 1
    const line = chain.line(JSON.stringify({ $: 'close', at: new Date(this.#now()).toISOString(), reason, lines } satisfies ControlRecord))
    this.#previousSegment = { writer: chain.writer, seq: chain.seq - 1, reason }
    this.#chain = undefined
    return line
  }

  /** Before a batch: follow an external rotation, or rotate ourselves when the file is too big or old. */
  #checkFile(): void {
    if (this.#fd === undefined) {
      this.#open()
      return
    }
    let info: ReturnType<typeof statSync> | undefined
    try {
      info = statSync(this.path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    if (!info || info.ino !== this.#inode || info.dev !== this.#device) {
      this.#reopen('path replaced (moved or deleted)')
      return
    }
    this.#fileBytes = Number(info.size)
    const now = this.#now()
    if (now >= this.#rotationPausedUntil && shouldRotate(this.#rotation, Number(info.size), this.#fileStartedAt, now)) {
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
    const fd = this.#fd!
    if (this.#chain) writeAll(fd, Buffer.from(this.#header + this.#closeLine(reason)))
    this.#header = ''
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

