import type { ClipPlan, OptimizerPlan } from '../plan.js'
import { checkNumber, checkOptions, optional } from '../validate.js'

/** Options every optimizer takes. */
export interface OptimizerOptions {
  /** Step size (must be > 0). */
  learningRate?: number
  /**
   * Rescale each variable's gradient (a layer's kernel, its bias, BatchNormalization's gamma or
   * beta) whose L2 norm exceeds this, as Keras's `clipnorm` (off by default).
   */
  clipNorm?: number
  /**
   * Rescale the whole gradient when the L2 norm of all of it together exceeds this, as Keras's
   * `global_clipnorm` (off by default; not with clipNorm).
   */
  globalClipNorm?: number
  /** Clamp each gradient component to [−clipValue, clipValue] (off by default). */
  clipValue?: number
}

const COMMON_OPTIONS = ['learningRate', 'clipNorm', 'globalClipNorm', 'clipValue'] as const

/**
 * Base of the optimizer classes: checks the common options and turns the optimizer into the
 * plain-data part of the Plan that both engines execute.
 */
export abstract class Optimizer {
  readonly learningRate: number
  readonly clipNorm: number | null
  readonly globalClipNorm: number | null
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
    this.globalClipNorm = optional(o.globalClipNorm, null, (v) => checkNumber(`${className} globalClipNorm`, v, { min: 0, minInclusive: false }))
    if (this.clipNorm !== null && this.globalClipNorm !== null) {
      throw new RangeError(`${className} takes clipNorm (per variable) or globalClipNorm (all gradients together), not both, as Keras; got ${this.clipNorm} and ${this.globalClipNorm}`)
    }
    this.clipValue = optional(o.clipValue, null, (v) => checkNumber(`${className} clipValue`, v, { min: 0, minInclusive: false }))
    this.options = o
  }

  /** The checked options object, for subclasses to read their own options from. */
  protected readonly options: Record<string, unknown>

  protected get clip(): ClipPlan {
    return { norm: this.clipNorm, globalNorm: this.globalClipNorm, value: this.clipValue }
  }

  abstract toPlan(): OptimizerPlan
}
