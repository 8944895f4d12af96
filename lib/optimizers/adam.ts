import type { OptimizerPlan } from '../plan.js'
import { checkNumber, optional } from '../validate.js'
import { Optimizer, type OptimizerOptions } from './optimizer.js'

export interface AdamOptions extends OptimizerOptions {
  /** Step size (default 0.001). */
  learningRate?: number
  /** Decay of the gradient's running mean, in [0, 1) (default 0.9). */
  beta1?: number
  /** Decay of the squared gradient's running mean, in [0, 1) (default 0.999). */
  beta2?: number
  /** Added to √v (default 1e-7, as Keras). */
  epsilon?: number
}

export interface AdamWOptions extends AdamOptions {
  /** Decoupled weight decay λ: each step first does w ← w − lr·λ·w (default 0.004, as Keras). */
  weightDecay?: number
}

const ADAM_OPTIONS = ['beta1', 'beta2', 'epsilon'] as const

/**
 * Adam: m ← β1m + (1−β1)g, v ← β2v + (1−β2)g², w ← w − α_t·m/(√v + ε) with
 * α_t = lr·√(1−β2^t)/(1−β1^t), the bias-corrected form Keras and TensorFlow use.
 */
export class Adam extends Optimizer {
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number

  constructor(options: AdamOptions = {}) {
    super('Adam', options, ADAM_OPTIONS, 0.001)
    ;[this.beta1, this.beta2, this.epsilon] = readAdamOptions('Adam', this.options)
  }

  toPlan(): OptimizerPlan {
    return adamPlan(this, 0)
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter), applied to every parameter. */
export class AdamW extends Optimizer {
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
  readonly weightDecay: number

  constructor(options: AdamWOptions = {}) {
    super('AdamW', options, [...ADAM_OPTIONS, 'weightDecay'], 0.001)
    ;[this.beta1, this.beta2, this.epsilon] = readAdamOptions('AdamW', this.options)
    this.weightDecay = optional(this.options.weightDecay, 0.004, (v) => checkNumber('AdamW weightDecay', v, { min: 0 }))
  }

  toPlan(): OptimizerPlan {
    return adamPlan(this, this.weightDecay)
  }
}

function readAdamOptions(className: string, o: Record<string, unknown>): [number, number, number] {
  const beta = (name: string, fallback: number) =>
    optional(o[name], fallback, (v) => checkNumber(`${className} ${name}`, v, { min: 0, max: 1, maxInclusive: false }))
  return [
    beta('beta1', 0.9),
    beta('beta2', 0.999),
    optional(o.epsilon, 1e-7, (v) => checkNumber(`${className} epsilon`, v, { min: 0 })),
  ]
}

function adamPlan(opt: Adam | AdamW, weightDecay: number): OptimizerPlan {
  return {
    kind: 'adam',
    learningRate: opt.learningRate,
    beta1: opt.beta1,
    beta2: opt.beta2,
    epsilon: opt.epsilon,
    weightDecay,
    clip: { norm: opt.clipNorm, globalNorm: opt.globalClipNorm, value: opt.clipValue },
  }
}
