import type { ClipPlan, OptimizerPlan } from '../plan.js'
import { checkNumber, checkOptions, optional } from '../validate.js'

/** Options every optimizer takes. */
export interface OptimizerOptions {
  /** Step size (must be > 0). */
  learningRate?: number
  /** Rescale the whole gradient when its global L2 norm exceeds this (off by default). */
  clipNorm?: number
  /** Clamp each gradient component to [−clipValue, clipValue] (off by default). */
  clipValue?: number
}

const COMMON_OPTIONS = ['learningRate', 'clipNorm', 'clipValue'] as const

/**
 * Base of the optimizer classes: checks the common options and turns the optimizer into the
 * plain-data part of the Plan that both engines execute.
 */
export abstract class Optimizer {
  readonly learningRate: number
  readonly clipNorm: number | null
  readonly clipValue: number | null

  protected constructor(
    className: string,
    options: unknown,
    ownOptions: readonly string[],
    defaultLearningRate: number,
  ) {
    const o = checkOptions(`${className} options`, options, [...COMMON_OPTIONS, ...ownOptions])
    this.learningRate = optional(o.learningRate, defaultLearningRate, (v) =>
      checkNumber(`${className} learningRate`, v, { min: 0, minInclusive: false }),
    )
    this.clipNorm = optional(o.clipNorm, null, (v) => checkNumber(`${className} clipNorm`, v, { min: 0, minInclusive: false }))
    this.clipValue = optional(o.clipValue, null, (v) => checkNumber(`${className} clipValue`, v, { min: 0, minInclusive: false }))
    this.options = o
  }

  /** The checked options object, for subclasses to read their own options from. */
  protected readonly options: Record<string, unknown>

  protected get clip(): ClipPlan {
    return { norm: this.clipNorm, value: this.clipValue }
  }

  abstract toPlan(): OptimizerPlan
}
