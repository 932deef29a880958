// Opt-in `rejectLimit`: after N rejected cookies from one client address within a minute, answer 429.
// Bounded: at most MAX_CLIENTS addresses are tracked; when full, the oldest windows are dropped.

const WINDOW_MS = 60_000
const MAX_CLIENTS = 10_000

export class RejectLimiter {
  readonly #limit: number
  readonly #windows = new Map<string, { start: number; count: number }>()

  constructor(limit: number) {
    this.#limit = limit
  }

  /** rejectLimit is on (a client address is worth working out only then). */
  get enabled(): boolean {
    return this.#limit > 0
  }

  /** Count one rejection; true when this client is now over the limit. */
  hit(ip: string | undefined): boolean {
    if (this.#limit <= 0) return false
    const key = ip ?? ''
    const now = Date.now()
    let window = this.#windows.get(key)
    if (!window || now - window.start >= WINDOW_MS) {
      if (!window && this.#windows.size >= MAX_CLIENTS) {
        const oldest = this.#windows.keys().next().value
        if (oldest !== undefined) this.#windows.delete(oldest)
      }
      window = { start: now, count: 0 }
      this.#windows.delete(key)
      this.#windows.set(key, window)
    }
    window.count++
    return window.count > this.#limit
  }

  /** Already over the limit (checked before spending crypto on this client's next cookie). */
  blocked(ip: string | undefined): boolean {
    if (this.#limit <= 0) return false
    const window = this.#windows.get(ip ?? '')
    return !!window && Date.now() - window.start < WINDOW_MS && window.count > this.#limit
  }
}
