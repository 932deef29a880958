// '15m' -> 900000. Accepts a number of milliseconds or a string of one or more
// <number><unit> parts ('1h30m'), units ms, s, m, h, d. Anything else is an error,
// because a typo in a timeout must not silently become "never".

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const PART = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/y

/** Returns milliseconds, or undefined when the value is not a valid non-negative duration. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined
  if (typeof value !== 'string') return undefined
  const text = value.trim().toLowerCase()
  if (text === '') return undefined
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text)
  let total = 0
  PART.lastIndex = 0
  while (PART.lastIndex < text.length) {
    const start = PART.lastIndex
    const match = PART.exec(text)
    if (!match || match.index !== start) return undefined
    total += Number(match[1]) * UNIT_MS[match[2]!]!
    while (text[PART.lastIndex] === ' ') PART.lastIndex++
  }
  return Number.isFinite(total) ? total : undefined
}
