import { ACTIVATIONS, type ActivationName, type ActivationPlan } from './plan.js'
import { checkNumber, checkOneOf, checkOptions, describe, isPlainObject, optional } from './validate.js'

/** An activation by name, or leaky ReLU with its negative slope. */
export type ActivationSpec = ActivationName | { name: 'leakyRelu'; alpha?: number }

/** Default negative slope of leaky ReLU, as TensorFlow.js's tf.leakyRelu. */
export const DEFAULT_LEAKY_RELU_ALPHA = 0.2

export function checkActivation(argName: string, value: unknown): ActivationPlan {
  if (isPlainObject(value)) {
    checkOptions(argName, value, ['name', 'alpha'])
    if (value.name !== 'leakyRelu') {
      throw new TypeError(`${argName}.name: only 'leakyRelu' takes options; use the plain name for the others, got ${describe(value.name)}`)
    }
    return { name: 'leakyRelu', alpha: optional(value.alpha, DEFAULT_LEAKY_RELU_ALPHA, (v) => checkNumber(`${argName}.alpha`, v, { min: 0 })) }
  }
  const name = checkOneOf(argName, value, ACTIVATIONS)
  return name === 'leakyRelu' ? { name, alpha: DEFAULT_LEAKY_RELU_ALPHA } : { name }
}

/** The user-facing form of a planned activation (for rebuilding layers from a Plan). */
export function activationSpec(plan: ActivationPlan): ActivationSpec {
  return plan.name === 'leakyRelu' ? { name: 'leakyRelu', alpha: plan.alpha ?? DEFAULT_LEAKY_RELU_ALPHA } : plan.name
}
