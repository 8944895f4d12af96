import type { OptimizerPlan } from '../plan.js'
import { checkBoolean, checkNumber, optional } from '../validate.js'
import { Optimizer, type OptimizerOptions } from './optimizer.js'

export interface RMSPropOptions extends OptimizerOptions {
  /** Step size (default 0.001). */
  learningRate?: number
  /** Decay of the squared-gradient average, in [0, 1) (default 0.9). */
  rho?: number
  /** Momentum on the scaled steps, in [0, 1) (default 0). */
  momentum?: number
  /** Added to the root of the average (default 1e-7). */
  epsilon?: number
  /** Divide by an estimate of the gradient's variance instead of its second moment (default false). */
  centered?: boolean
}

/**
 * RMSProp: v ← ρv + (1−ρ)g²; step = lr·g/(√v + ε) (centred: √(v − ḡ²) + ε with
 * ḡ ← ρḡ + (1−ρ)g); with momentum m ← μm + step, w ← w − m; otherwise w ← w − step.
 */
export class RMSProp extends Optimizer {
  readonly rho: number
  readonly momentum: number
  readonly epsilon: number
  readonly centered: boolean

  constructor(options: RMSPropOptions = {}) {
    super('RMSProp', options, ['rho', 'momentum', 'epsilon', 'centered'], 0.001)
    const o = this.options
    this.rho = optional(o.rho, 0.9, (v) => checkNumber('RMSProp rho', v, { min: 0, max: 1, maxInclusive: false }))
    this.momentum = optional(o.momentum, 0, (v) => checkNumber('RMSProp momentum', v, { min: 0, max: 1, maxInclusive: false }))
    this.epsilon = optional(o.epsilon, 1e-7, (v) => checkNumber('RMSProp epsilon', v, { min: 0 }))
    this.centered = optional(o.centered, false, (v) => checkBoolean('RMSProp centered', v))
  }

  toPlan(): OptimizerPlan {
    return {
      kind: 'rmsprop',
      learningRate: this.learningRate,
      rho: this.rho,
      momentum: this.momentum,
      epsilon: this.epsilon,
      centered: this.centered,
      clip: this.clip,
    }
  }
}
