// The bounded queue between write() (request path) and the disk, and the count of what did not fit.
// Bounded by events and by bytes, so a stalled or failing disk costs at most maxQueueBytes of memory.

export class BoundedQueue {
  readonly maxEvents: number
  readonly maxBytes: number
  /** Items from #head on are queued; the ones before it were taken (dropped in bulk, not one by one). */
  #items: string[] = []
  #head = 0
  #bytes = 0

  constructor(maxEvents: number, maxBytes: number) {
    this.maxEvents = maxEvents
    this.maxBytes = maxBytes
  }

  get length(): number {
    return this.#items.length - this.#head
  }

  /** Characters queued (the serialized events' lengths). */
  get bytes(): number {
    return this.#bytes
  }

  hasRoom(size: number): boolean {
    return this.length < this.maxEvents && this.#bytes + size <= this.maxBytes
  }

  push(item: string): void {
    this.#items.push(item)
    this.#bytes += item.length
  }

  /** The oldest item, left in the queue; undefined when empty. */
  peek(): string | undefined {
    return this.#items[this.#head]
  }

  /** Remove and return the oldest item. */
  shift(): string | undefined {
    if (this.#head >= this.#items.length) return undefined
    const item = this.#items[this.#head++]!
    this.#bytes -= item.length
    if (this.#head === this.#items.length) {
      this.#items = []
      this.#head = 0
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return item
  }
}

/** Events refused while the queue was full; reported as one record when writing resumes. */
export class DropCounter {
  #count = 0
  #since = ''
  #until = ''
  #reason = ''

  get count(): number {
    return this.#count
  }

  record(at: string, reason: string): void {
    if (this.#count === 0) this.#since = at
    this.#count++
    this.#until = at
    this.#reason = reason
  }

  /** The summary so far, and reset; undefined when nothing was dropped. */
  take(): { count: number; since: string; until: string; reason: string } | undefined {
    if (this.#count === 0) return undefined
    const summary = { count: this.#count, since: this.#since, until: this.#until, reason: this.#reason }
    this.#count = 0
    return summary
  }
}
