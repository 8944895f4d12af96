import { checkInteger, checkNumber, checkOptions, optional } from '../validate.js'
import { LearningRateSchedule, type ScheduleSpec } from './schedule.js'

export interface StepDecayOptions {
  /** The rate for the first `stepSize` epochs (> 0). */
  initialLearningRate: number
  /** Epochs between drops (an integer ≥ 1). */
  stepSize: number
  /** Multiplier applied at each drop, in (0, 1] (default 0.5). */
  factor?: number
}

/** Step decay: lr = initialLearningRate · factor^⌊epoch / stepSize⌋ (PyTorch's StepLR). */
export class StepDecay extends LearningRateSchedule {
  readonly initialLearningRate: number
  readonly stepSize: number
  readonly factor: number

  constructor(options: StepDecayOptions) {
    super()
    const o = checkOptions('stepDecay options', options ?? {}, ['initialLearningRate', 'stepSize', 'factor'])
    this.initialLearningRate = checkNumber('stepDecay initialLearningRate', o.initialLearningRate, { min: 0, minInclusive: false })
    this.stepSize = checkInteger('stepDecay stepSize', o.stepSize, { min: 1 })
    this.factor = optional(o.factor, 0.5, (v) => checkNumber('stepDecay factor', v, { min: 0, max: 1, minInclusive: false }))
  }

  protected rate(epoch: number): number {
    return this.initialLearningRate * this.factor ** Math.floor(epoch / this.stepSize)
  }

  toJSON(): ScheduleSpec {
    return { kind: 'stepDecay', initialLearningRate: this.initialLearningRate, stepSize: this.stepSize, factor: this.factor }
  }
}

/** Step decay: the rate times `factor` every `stepSize` epochs. */
export function stepDecay(options: StepDecayOptions): StepDecay {
  return new StepDecay(options)
}
