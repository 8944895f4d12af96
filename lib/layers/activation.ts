import { checkActivation, type ActivationSpec } from '../activations.js'
import type { ActivationLayerPlan, ActivationPlan } from '../plan.js'
import { checkOptions } from '../validate.js'
import { Layer, type LayerOptions } from './layer.js'

export interface ActivationOptions extends LayerOptions {
  /** The activation to apply (required). */
  activation: ActivationSpec
}

/** Applies an activation on its own, e.g. after BatchNormalization: Dense → BN → Activation. */
export class Activation extends Layer {
  readonly className = 'Activation'
  readonly activation: ActivationPlan

  constructor(options: ActivationOptions) {
    const o = checkOptions('Activation options', options, ['inputSize', 'activation'])
    super('Activation', o)
    this.activation = checkActivation('Activation activation', o.activation)
  }

  outputSize(inputs: number): number {
    return inputs
  }

  toPlan(inputs: number): ActivationLayerPlan {
    return { kind: 'activation', units: inputs, activation: this.activation }
  }
}
