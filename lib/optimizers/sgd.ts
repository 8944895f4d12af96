import type { OptimizerPlan } from '../plan.js'
import { checkBoolean, checkNumber, optional } from '../validate.js'
import { Optimizer, type OptimizerOptions } from './optimizer.js'

export interface SGDOptions extends OptimizerOptions {
  /** Step size (default 0.01). */
  learningRate?: number
  /** Velocity decay in [0, 1): v ← momentum·v − lr·g, w ← w + v (default 0: plain SGD). */
  momentum?: number
  /** Nesterov momentum: w ← w + momentum·v − lr·g (default false; needs momentum > 0). */
  nesterov?: boolean
}

/** Stochastic gradient descent, with optional (Nesterov) momentum, as Keras defines it. */
export class SGD extends Optimizer {
  readonly momentum: number
  readonly nesterov: boolean

  constructor(options: SGDOptions = {}) {
    super('SGD', options, ['momentum', 'nesterov'], 0.01)
    const o = this.options
    this.momentum = optional(o.momentum, 0, (v) => checkNumber('SGD momentum', v, { min: 0, max: 1, maxInclusive: false }))
    this.nesterov = optional(o.nesterov, false, (v) => checkBoolean('SGD nesterov', v))
    if (this.nesterov && this.momentum === 0) {
      throw new RangeError('SGD nesterov needs momentum > 0, got momentum 0')
    }
  }

  toPlan(): OptimizerPlan {
    return { kind: 'sgd', learningRate: this.learningRate, momentum: this.momentum, nesterov: this.nesterov, clip: this.clip }
  }
}
