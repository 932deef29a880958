// Whether the writer of an unclosed segment is still running: then its segment is open (the last
// batch not yet closed), not cut short. The file cannot tell the two apart by itself (a file cut
// between two lines looks exactly like a segment still being written), so verify asks the system:
// the segment's open record names the writer's pid and host, and on Linux /proc/<pid>/fd shows
// whether that process still holds this very file (same device and inode) open. A writer that
// closed its sink no longer holds it; one that crashed is gone. Elsewhere (no /proc), or for a
// process of another user, the answer is "not known to be running".

import { readdirSync, statSync } from 'node:fs'
import { hostname } from 'node:os'

export class LiveWriters {
  readonly #file: { dev: number; ino: number } | undefined
  readonly #host = hostname()
  readonly #answers = new Map<number, boolean>()

  constructor(file: string) {
    try {
      const info = statSync(file)
      this.#file = { dev: info.dev, ino: info.ino }
    } catch {
      this.#file = undefined
    }
  }

  /** True when process `pid` on `host` has this file open right now. */
  holdsFile(pid: number | undefined, host: string | undefined): boolean {
    if (this.#file === undefined || pid === undefined || !Number.isSafeInteger(pid) || pid <= 0 || host !== this.#host) return false
    let answer = this.#answers.get(pid)
    if (answer === undefined) {
      answer = this.#check(pid)
      this.#answers.set(pid, answer)
    }
    return answer
  }

  #check(pid: number): boolean {
    const file = this.#file!
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      return false
    }
    return fds.some((fd) => {
      try {
        const target = statSync(`/proc/${pid}/fd/${fd}`)
        return target.dev === file.dev && target.ino === file.ino
      } catch {
        return false
      }
    })
  }
}
