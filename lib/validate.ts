/**
 * Argument checks shared by the public API. Each throws a TypeError or RangeError whose message
 * names the argument, says what was expected and shows what was given.
 */

/** A short, readable description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN'
    return String(value)
  }
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value
    return `the string '${shown}'`
  }
  if (typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return `an array of length ${value.length}`
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as { length: number }).length}`
  const name = (value as object).constructor?.name
  return name && name !== 'Object' ? `a ${name}` : 'an object'
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * Checks that `options` is undefined or a plain object with only the `allowed` keys, so a typo
 * such as `learningrate` is reported instead of silently ignored.
 */
export function checkOptions(
  name: string,
  options: unknown,
  allowed: readonly string[],
): Record<string, unknown> {
  if (options === undefined) return {}
  if (!isPlainObject(options)) {
    throw new TypeError(`${name} must be an options object, got ${describe(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new TypeError(
        `${name} has an unknown option '${key}'; valid options are: ${allowed.join(', ')}`,
      )
    }
  }
  return options
}

export function checkFiniteNumber(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`${name} must be a finite number, got ${describe(value)}`)
  }
  return value
}

export interface Range {
  /** Smallest allowed value. */
  min?: number
  /** Largest allowed value. */
  max?: number
  /** Whether `min` itself is allowed (default true). */
  minInclusive?: boolean
  /** Whether `max` itself is allowed (default true). */
  maxInclusive?: boolean
}

function rangeText(range: Range): string {
  const { min, max, minInclusive = true, maxInclusive = true } = range
  if (min !== undefined && max !== undefined) {
    return `in ${minInclusive ? '[' : '('}${min}, ${max}${maxInclusive ? ']' : ')'}`
  }
  if (min !== undefined) return minInclusive ? `≥ ${min}` : `> ${min}`
  if (max !== undefined) return maxInclusive ? `≤ ${max}` : `< ${max}`
  return 'finite'
}

export function checkNumber(name: string, value: unknown, range: Range = {}): number {
  checkFiniteNumber(name, value)
  const v = value as number
  const { min, max, minInclusive = true, maxInclusive = true } = range
  const tooSmall = min !== undefined && (minInclusive ? v < min : v <= min)
  const tooLarge = max !== undefined && (maxInclusive ? v > max : v >= max)
  if (tooSmall || tooLarge) {
    throw new RangeError(`${name} must be a number ${rangeText(range)}, got ${describe(value)}`)
  }
  return v
}

export function checkInteger(name: string, value: unknown, range: Range = {}): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer, got ${describe(value)}`)
  }
  const { min, max } = range
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    throw new RangeError(`${name} must be an integer ${rangeText(range)}, got ${value}`)
  }
  return value
}

export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw new TypeError(`${name} must be true or false, got ${describe(value)}`)
  }
  return value
}

/** A non-empty string of at most `maxLength` characters (names and paths from files or peers). */
export function checkString(name: string, value: unknown, maxLength = 4096): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw new TypeError(`${name} must be a non-empty string of at most ${maxLength} characters, got ${describe(value)}`)
  }
  return value
}

export function checkOneOf<T extends string>(name: string, value: unknown, valid: readonly T[]): T {
  if (typeof value !== 'string' || !(valid as readonly string[]).includes(value)) {
    throw new TypeError(
      `${name} must be one of ${valid.map((v) => `'${v}'`).join(', ')}; got ${describe(value)}`,
    )
  }
  return value as T
}

/** Reads an optional option: undefined gives the default, anything else goes through `check`. */
export function optional<T>(
  value: unknown,
  fallback: T,
  check: (value: unknown) => T,
): T {
  return value === undefined ? fallback : check(value)
}
