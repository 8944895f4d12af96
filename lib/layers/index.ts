import { activationSpec } from '../activations.js'
import type { LayerPlan } from '../plan.js'
import { Activation } from './activation.js'
import { BatchNormalization } from './batch-normalization.js'
import { Dense, denseFromPlan } from './dense.js'
import { Dropout } from './dropout.js'
import type { Layer } from './layer.js'

export { Activation, BatchNormalization, Dense, Dropout }
export type { Layer }

/** Rebuilds a layer from its Plan entry (used when loading a model). */
export function layerFromPlan(plan: LayerPlan): Layer {
  switch (plan.kind) {
    case 'dense':
      return denseFromPlan(plan)
    case 'dropout':
      return new Dropout({ inputSize: plan.units, rate: plan.rate })
    case 'batchNormalization':
      return new BatchNormalization({ inputSize: plan.units, momentum: plan.momentum, epsilon: plan.epsilon })
    case 'activation':
      return new Activation({ inputSize: plan.units, activation: activationSpec(plan.activation) })
  }
}
