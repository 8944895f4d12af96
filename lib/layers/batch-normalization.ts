import type { BatchNormalizationPlan, LayerPlan } from '../plan.js'
import { checkNumber, checkOptions, optional } from '../validate.js'
import { Layer, type Allocator, type LayerOptions, type WeightSpec } from './layer.js'

export interface BatchNormalizationOptions extends LayerOptions {
  /** Weight of the old value when the running statistics move toward a batch's (default 0.99). */
  momentum?: number
  /** Added to the variance before its square root (default 0.001). */
  epsilon?: number
}

/**
 * Batch normalisation (Ioffe & Szegedy): in training, each unit is normalised by the batch's
 * mean and variance, then scaled by γ and shifted by β (both trained); running averages of the
 * mean and variance are kept and used at inference. Defaults follow Keras.
 */
export class BatchNormalization extends Layer {
  readonly className = 'BatchNormalization'
  readonly momentum: number
  readonly epsilon: number

  constructor(options: BatchNormalizationOptions = {}) {
    const o = checkOptions('BatchNormalization options', options, ['inputSize', 'momentum', 'epsilon'])
    super('BatchNormalization', o)
    this.momentum = optional(o.momentum, 0.99, (v) => checkNumber('BatchNormalization momentum', v, { min: 0, max: 1 }))
    this.epsilon = optional(o.epsilon, 1e-3, (v) => checkNumber('BatchNormalization epsilon', v, { min: 0, minInclusive: false }))
  }

  outputSize(inputs: number): number {
    return inputs
  }

  toPlan(inputs: number, alloc: Allocator): BatchNormalizationPlan {
    return {
      kind: 'batchNormalization',
      units: inputs,
      momentum: this.momentum,
      epsilon: this.epsilon,
      gammaOffset: alloc.params(inputs),
      betaOffset: alloc.params(inputs),
      meanOffset: alloc.stats(inputs),
      varianceOffset: alloc.stats(inputs),
    }
  }

  override initialize(plan: LayerPlan, params: Float32Array, stats: Float32Array): void {
    const p = plan as BatchNormalizationPlan
    params.fill(1, p.gammaOffset, p.gammaOffset + p.units)
    params.fill(0, p.betaOffset, p.betaOffset + p.units)
    stats.fill(0, p.meanOffset, p.meanOffset + p.units)
    stats.fill(1, p.varianceOffset, p.varianceOffset + p.units)
  }

  override weights(plan: LayerPlan): WeightSpec[] {
    const p = plan as BatchNormalizationPlan
    const shape: [number, number] = [1, p.units]
    return [
      { name: 'gamma', shape, vector: true, buffer: 'params', offset: p.gammaOffset },
      { name: 'beta', shape, vector: true, buffer: 'params', offset: p.betaOffset },
      { name: 'movingMean', shape, vector: true, buffer: 'stats', offset: p.meanOffset },
      { name: 'movingVariance', shape, vector: true, buffer: 'stats', offset: p.varianceOffset },
    ]
  }
}
