// The bounded queue between write() (request path) and the disk, and the count of what did not fit.
// Bounded by events and by bytes, so a stalled or failing disk costs at most maxQueueBytes of memory.

export class BoundedQueue {
  readonly maxEvents: number
  readonly maxBytes: number
  #items: string[] = []
  #bytes = 0

  constructor(maxEvents: number, maxBytes: number) {
    this.maxEvents = maxEvents
    this.maxBytes = maxBytes
  }

  get length(): number {
    return this.#items.length
  }

  get bytes(): number {
    return this.#bytes
  }

  hasRoom(size: number): boolean {
    return this.#items.length < this.maxEvents && this.#bytes + size <= this.maxBytes
  }

  push(item: string): void {
    this.#items.push(item)
    this.#bytes += item.length
  }

  /** Remove and return the oldest items, at least one, up to about maxBytes in total. */
  take(maxBytes: number): string[] {
    if (this.#bytes <= maxBytes) {
      const all = this.#items
      this.#items = []
      this.#bytes = 0
      return all
    }
    let count = 0
    let size = 0
    while (count < this.#items.length && (count === 0 || size + this.#items[count]!.length <= maxBytes)) {
      size += this.#items[count]!.length
      count++
    }
    this.#bytes -= size
    return this.#items.splice(0, count)
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
