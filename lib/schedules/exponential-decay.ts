import { checkBoolean, checkNumber, checkOptions, optional } from '../validate.js'
import { LearningRateSchedule, type ScheduleSpec } from './schedule.js'

export interface ExponentialDecayOptions {
  /** The rate at epoch 0 (> 0). */
  initialLearningRate: number
  /** Epochs over which the rate is multiplied by `decayRate` once (> 0). */
  decaySteps: number
  /** Multiplier per `decaySteps` epochs (> 0; below 1 decays). */
  decayRate: number
  /** Decay in whole steps (⌊epoch / decaySteps⌋) instead of continuously (default false). */
  staircase?: boolean
}

/**
 * Exponential decay, as Keras's ExponentialDecay but per epoch:
 * lr = initialLearningRate · decayRate^(epoch / decaySteps), the exponent floored with `staircase`.
 */
export class ExponentialDecay extends LearningRateSchedule {
  readonly initialLearningRate: number
  readonly decaySteps: number
  readonly decayRate: number
  readonly staircase: boolean

  constructor(options: ExponentialDecayOptions) {
    super()
    const o = checkOptions('exponentialDecay options', options ?? {}, ['initialLearningRate', 'decaySteps', 'decayRate', 'staircase'])
    this.initialLearningRate = checkNumber('exponentialDecay initialLearningRate', o.initialLearningRate, { min: 0, minInclusive: false })
    this.decaySteps = checkNumber('exponentialDecay decaySteps', o.decaySteps, { min: 0, minInclusive: false })
    this.decayRate = checkNumber('exponentialDecay decayRate', o.decayRate, { min: 0, minInclusive: false })
    this.staircase = optional(o.staircase, false, (v) => checkBoolean('exponentialDecay staircase', v))
  }

  protected rate(epoch: number): number {
    const p = epoch / this.decaySteps
    return this.initialLearningRate * this.decayRate ** (this.staircase ? Math.floor(p) : p)
  }

  toJSON(): ScheduleSpec {
    const { initialLearningRate, decaySteps, decayRate, staircase } = this
    return { kind: 'exponentialDecay', initialLearningRate, decaySteps, decayRate, staircase }
  }
}

/** Exponential decay: the rate times `decayRate` every `decaySteps` epochs, smoothly or in steps. */
export function exponentialDecay(options: ExponentialDecayOptions): ExponentialDecay {
  return new ExponentialDecay(options)
}
