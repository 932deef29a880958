// Which options of two nextSession() calls differ: the second call for one cookie name shares the
// first instance, so it must not silently run with other options.
//
// A dev-mode reload or another route bundle evaluates lib/session.ts again: same values, but new
// functions (a store factory, audit hooks) and new objects (memoryStore(), fileSink()). So values
// are compared as data, functions by their source text and other objects by their class: what the
// code says, not which evaluation of it made them.

/** The top-level option names (dotted below: `cookie.name`, `audit.hooks`) whose values differ. */
export function optionsThatDiffer(firstOptions: object, secondOptions: object): string[] {
  const first = firstOptions as Readonly<Record<string, unknown>>
  const second = secondOptions as Readonly<Record<string, unknown>>
  const names = new Set([...Object.keys(first), ...Object.keys(second)])
  const differ: string[] = []
  for (const name of names) {
    const a = first[name]
    const b = second[name]
    if (isPlainObject(a) && isPlainObject(b) && (name === 'cookie' || name === 'audit')) {
      differ.push(...optionsThatDiffer(a, b).map((inner) => `${name}.${inner}`))
    } else if (!same(a, b)) differ.push(name)
  }
  return differ.sort()
}

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (typeof a === 'function' && typeof b === 'function') return String(a) === String(b)
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((value, i) => same(value, b[i]))
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)])
    return [...keys].every((key) => same(a[key], b[key]))
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    return Object.getPrototypeOf(a) === Object.getPrototypeOf(b) || a.constructor?.name === b.constructor?.name
  }
  return false
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const prototype = Object.getPrototypeOf(value) as unknown
  return prototype === Object.prototype || prototype === null
}
