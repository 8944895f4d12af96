import { checkInteger, checkNumber, checkOptions, optional } from '../validate.js'
import { LearningRateSchedule, type ScheduleSpec } from './schedule.js'

export interface CosineDecayOptions {
  /**
   * The rate at epoch 0: where the cosine starts without warm-up (> 0), or where the warm-up
   * starts with it (≥ 0; 0 as in Keras's examples).
   */
  initialLearningRate: number
  /** Epochs of the cosine, after any warm-up (an integer ≥ 1); the rate then stays at its floor. */
  decaySteps: number
  /** The floor as a fraction of the rate the cosine starts from, in [0, 1] (default 0). */
  alpha?: number
  /** Epochs of linear warm-up from initialLearningRate to warmupTarget (default 0: none). */
  warmupSteps?: number
  /** The rate the warm-up climbs to and the cosine then starts from (> 0; needs warmupSteps). */
  warmupTarget?: number
}

/**
 * Cosine decay with optional linear warm-up, Keras 3's CosineDecay counted in epochs. With
 * warm-up (w = warmupSteps, peak = warmupTarget), epoch e < w gets
 * initialLearningRate + (peak − initialLearningRate)·e/w; then, with d = min(e − w, decaySteps),
 * lr = peak·((1 − alpha)·½(1 + cos(π·d/decaySteps)) + alpha). Without warm-up, peak is
 * initialLearningRate and w = 0.
 */
export class CosineDecay extends LearningRateSchedule {
  readonly initialLearningRate: number
  readonly decaySteps: number
  readonly alpha: number
  readonly warmupSteps: number
  readonly warmupTarget: number | null

  constructor(options: CosineDecayOptions) {
    super()
    const o = checkOptions('cosineDecay options', options ?? {}, ['initialLearningRate', 'decaySteps', 'alpha', 'warmupSteps', 'warmupTarget'])
    this.decaySteps = checkInteger('cosineDecay decaySteps', o.decaySteps, { min: 1 })
    this.alpha = optional(o.alpha, 0, (v) => checkNumber('cosineDecay alpha', v, { min: 0, max: 1 }))
    this.warmupSteps = optional(o.warmupSteps, 0, (v) => checkInteger('cosineDecay warmupSteps', v, { min: 0 }))
    this.warmupTarget = optional(o.warmupTarget, null, (v) => checkNumber('cosineDecay warmupTarget', v, { min: 0, minInclusive: false }))
    // Keras silently ignores warmupSteps without warmupTarget; refuse the half-given warm-up instead.
    if ((this.warmupSteps > 0) !== (this.warmupTarget !== null)) {
      throw new TypeError(
        `cosineDecay warm-up needs both warmupSteps (≥ 1) and warmupTarget (the rate to climb to); got warmupSteps ${this.warmupSteps} and warmupTarget ${String(this.warmupTarget ?? 'undefined')}`,
      )
    }
    this.initialLearningRate = checkNumber('cosineDecay initialLearningRate', o.initialLearningRate, {
      min: 0,
      minInclusive: this.warmupTarget !== null,
    })
  }

  protected rate(epoch: number): number {
    const peak = this.warmupTarget ?? this.initialLearningRate
    if (epoch < this.warmupSteps) {
      return this.initialLearningRate + ((peak - this.initialLearningRate) * epoch) / this.warmupSteps
    }
    const done = Math.min(epoch - this.warmupSteps, this.decaySteps) / this.decaySteps
    return peak * ((1 - this.alpha) * 0.5 * (1 + Math.cos(Math.PI * done)) + this.alpha)
  }

  toJSON(): ScheduleSpec {
    const { initialLearningRate, decaySteps, alpha, warmupSteps, warmupTarget } = this
    return { kind: 'cosineDecay', initialLearningRate, decaySteps, alpha, warmupSteps, warmupTarget }
  }
}

/** Cosine decay from the initial (or warmed-up) rate to alpha times it over decaySteps epochs. */
export function cosineDecay(options: CosineDecayOptions): CosineDecay {
  return new CosineDecay(options)
}
