// Which options of two nextSession() calls differ: the second call for one cookie name shares the
// first instance, so it must not silently run with other options.
//
// A dev-mode reload or another route bundle evaluates lib/session.ts again: same values, but new
// functions (a store factory, audit hooks) and new objects (memoryStore(), fileSink()). Neither can
// be compared across evaluations: their source text and class names differ between bundles once a
// production build has minified them, and a false "differs" would stop a working app. So data
// (secrets, durations, cookie attributes, trustProxy, limits) is compared by value, and a function or
// an object such as a store or sink only by being there: a store against none differs.

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
  if (typeof a === 'function' && typeof b === 'function') return true
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((value, i) => same(value, b[i]))
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)])
    return [...keys].every((key) => same(a[key], b[key]))
  }
  // Two objects that are not plain data (a store, a sink, a Redis client): both given.
  return typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !isPlainObject(a) && !isPlainObject(b)
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const prototype = Object.getPrototypeOf(value) as unknown
  return prototype === Object.prototype || prototype === null
}
