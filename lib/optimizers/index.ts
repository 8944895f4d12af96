import type { OptimizerPlan } from '../plan.js'
import { describe } from '../validate.js'
import { AdaGrad } from './adagrad.js'
import { Adam, AdamW } from './adam.js'
import { Optimizer } from './optimizer.js'
import { RMSProp } from './rmsprop.js'
import { SGD } from './sgd.js'

export { AdaGrad, Adam, AdamW, Optimizer, RMSProp, SGD }

export const OPTIMIZER_NAMES = ['sgd', 'adagrad', 'rmsprop', 'adam', 'adamw'] as const
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number]

/** An Optimizer instance, or a name for one with its default options. */
export function checkOptimizer(name: string, value: unknown): Optimizer {
  if (value instanceof Optimizer) return value
  switch (value) {
    case 'sgd':
      return new SGD()
    case 'adagrad':
      return new AdaGrad()
    case 'rmsprop':
      return new RMSProp()
    case 'adam':
      return new Adam()
    case 'adamw':
      return new AdamW()
  }
  throw new TypeError(
    `${name} must be an optimizer (new Adam(), new SGD(), …) or one of ${OPTIMIZER_NAMES.map((n) => `'${n}'`).join(', ')}; got ${describe(value)}`,
  )
}

/** Rebuilds the optimizer a Plan describes (used when loading a model). */
export function optimizerFromPlan(plan: OptimizerPlan): Optimizer {
  const { norm, globalNorm, value } = plan.clip
  const clip = { ...(norm !== null && { clipNorm: norm }), ...(globalNorm !== null && { globalClipNorm: globalNorm }), ...(value !== null && { clipValue: value }) }
  switch (plan.kind) {
    case 'sgd':
      return new SGD({ learningRate: plan.learningRate, momentum: plan.momentum, nesterov: plan.nesterov, ...clip })
    case 'adagrad':
      return new AdaGrad({ learningRate: plan.learningRate, initialAccumulatorValue: plan.initialAccumulatorValue, epsilon: plan.epsilon, ...clip })
    case 'rmsprop':
      return new RMSProp({ learningRate: plan.learningRate, rho: plan.rho, momentum: plan.momentum, epsilon: plan.epsilon, centered: plan.centered, ...clip })
    case 'adam': {
      const common = { learningRate: plan.learningRate, beta1: plan.beta1, beta2: plan.beta2, epsilon: plan.epsilon, ...clip }
      return plan.weightDecay > 0 ? new AdamW({ ...common, weightDecay: plan.weightDecay }) : new Adam(common)
    }
  }
}
