import type { RegularizerPlan } from './plan.js'
import { checkNumber, checkOptions, describe, isPlainObject } from './validate.js'

/** A penalty on a layer's kernel added to the loss: l1·Σ|w| + l2·Σw². */
export interface Regularizer {
  readonly l1: number
  readonly l2: number
}

const strength = (name: string, v: unknown): number => checkNumber(name, v, { min: 0 })

/** Adds λ·Σ|w| of the layer's kernel to the loss (default λ = 0.01, as Keras). */
export function l1(lambda = 0.01): Regularizer {
  return { l1: strength('l1 strength', lambda), l2: 0 }
}

/** Adds λ·Σw² of the layer's kernel to the loss (default λ = 0.01, as Keras); gradient 2λw. */
export function l2(lambda = 0.01): Regularizer {
  return { l1: 0, l2: strength('l2 strength', lambda) }
}

/**
 * Both penalties. A strength left out is 0, as in Keras 3's `L1L2` (the `l1_l2` shortcut of
 * Keras 2 defaulted both to 0.01; pass them to get that).
 */
export function l1l2(options: { l1?: number; l2?: number } = {}): Regularizer {
  const o = checkOptions('l1l2 options', options, ['l1', 'l2'])
  return {
    l1: o.l1 === undefined ? 0 : strength('l1l2 options.l1', o.l1),
    l2: o.l2 === undefined ? 0 : strength('l1l2 options.l2', o.l2),
  }
}

export function checkRegularizer(name: string, value: unknown): RegularizerPlan | null {
  if (value === undefined || value === null) return null
  if (!isPlainObject(value) || typeof value.l1 !== 'number' || typeof value.l2 !== 'number') {
    throw new TypeError(`${name} must be a regularizer from l1(), l2() or l1l2(), got ${describe(value)}`)
  }
  return { l1: strength(`${name}.l1`, value.l1), l2: strength(`${name}.l2`, value.l2) }
}
