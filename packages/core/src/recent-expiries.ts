// Store keys the store reported as expired and no request has asked for since: a load that then misses
// on one of them is an ordinary expiry (already reported as session.expired), not a forged or revoked
// cookie. A bounded set rather than one "last expired" field, so that requests whose sessions expire at
// the same moment (one's store event arriving while another's load is still waiting) each find their
// own. The first load that finds its key takes it out: a replay of that cookie afterwards is reported
// as unknown_session. At most MAX_REMEMBERED keys (43 characters each), the oldest forgotten first; a
// forgotten key only changes how a later miss is reported, never what it does.

const MAX_REMEMBERED = 1_000

export class RecentExpiries {
  readonly #keys = new Set<string>()

  add(key: string): void {
    this.#keys.delete(key)
    this.#keys.add(key)
    if (this.#keys.size > MAX_REMEMBERED) {
      const oldest = this.#keys.values().next().value
      if (oldest !== undefined) this.#keys.delete(oldest)
    }
  }

  /** Whether the store reported `key` as expired; forgets it (the first load that asks takes it). */
  take(key: string): boolean {
    return this.#keys.delete(key)
  }
}
