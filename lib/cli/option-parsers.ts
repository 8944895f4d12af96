/**
 * Parsers for option values: each returns the value or throws commander's InvalidArgumentError,
 * which commander reports as "option '--x <v>' argument 'y' is invalid. <why>" (exit code 2).
 */
import { InvalidArgumentError } from 'commander'

export function integer(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`Expected an integer ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`}.`)
    }
    return n
  }
}

export function number(min: number, max: number, { minInclusive = true, maxInclusive = true } = {}): (value: string) => number {
  return (value) => {
    const n = Number(value)
    const ok = value.trim() !== '' && Number.isFinite(n) && (minInclusive ? n >= min : n > min) && (maxInclusive ? n <= max : n < max)
    if (!ok) throw new InvalidArgumentError(`Expected a number in ${minInclusive ? '[' : '('}${min}, ${max === Infinity ? '∞' : max}${maxInclusive && max !== Infinity ? ']' : ')'}.`)
    return n
  }
}

export function choice<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`Expected one of: ${choices.join(', ')}.`)
    return value as T
  }
}

/** Hidden layer widths, e.g. "256,128"; "" or "none" for no hidden layer. */
export function layerSizes(value: string): number[] {
  if (value.trim() === '' || value === 'none') return []
  const sizes = value.split(',').map((s) => Number(s.trim()))
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new InvalidArgumentError('Expected comma-separated layer widths such as 256,128 (positive integers).')
  }
  return sizes
}
