import type { OptimizerPlan } from '../plan.js'
import { checkBoolean, checkNumber, optional } from '../validate.js'
import { Optimizer, type OptimizerOptions } from './optimizer.js'

export interface SGDOptions extends OptimizerOptions {
  /** Step size (default 0.01). */
  learningRate?: number
  /** Velocity decay in [0, 1): v ← momentum·v − lr·g, w ← w + v (default 0: plain SGD). */
  momentum?: number
  /** Nesterov momentum: w ← w + momentum·v − lr·g (default false). With momentum 0 both rules are plain SGD, as in Keras. */
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
  }

  toPlan(): OptimizerPlan {
    return { kind: 'sgd', learningRate: this.learningRate, momentum: this.momentum, nesterov: this.nesterov, clip: this.clip }
  }
}
