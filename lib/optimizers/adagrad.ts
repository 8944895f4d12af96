import type { OptimizerPlan } from '../plan.js'
import { checkNumber, optional } from '../validate.js'
import { Optimizer, type OptimizerOptions } from './optimizer.js'

export interface AdaGradOptions extends OptimizerOptions {
  /** Step size (default 0.001, as Keras; AdaGrad often wants more, e.g. 0.01–0.1). */
  learningRate?: number
  /** Starting value of the squared-gradient accumulators (default 0.1). */
  initialAccumulatorValue?: number
  /** Added to √accumulator to avoid division by zero (default 1e-7). */
  epsilon?: number
}

/** AdaGrad: acc ← acc + g², w ← w − lr·g/(√acc + ε). */
export class AdaGrad extends Optimizer {
  readonly initialAccumulatorValue: number
  readonly epsilon: number

  constructor(options: AdaGradOptions = {}) {
    super('AdaGrad', options, ['initialAccumulatorValue', 'epsilon'], 0.001)
    const o = this.options
    this.initialAccumulatorValue = optional(o.initialAccumulatorValue, 0.1, (v) =>
      checkNumber('AdaGrad initialAccumulatorValue', v, { min: 0 }),
    )
    this.epsilon = optional(o.epsilon, 1e-7, (v) => checkNumber('AdaGrad epsilon', v, { min: 0 }))
  }

  toPlan(): OptimizerPlan {
    return {
      kind: 'adagrad',
      learningRate: this.learningRate,
      initialAccumulatorValue: this.initialAccumulatorValue,
      epsilon: this.epsilon,
      clip: this.clip,
    }
  }
}
