import { DEFAULT_LEAKY_RELU_ALPHA } from '../../activations.js'
import { ACTIVATIONS, LOSSES, METRICS, type ActivationPlan, type LayerPlan, type OptimizerPlan, type Plan } from '../../plan.js'

/**
 * The Plan as a flat Float64Array for the native engine, which decodes and re-checks it in
 * crates/kernels/src/plan.rs (no JSON parser needed in Rust). Layout:
 *   header    [format 1, inputSize, outputSize, paramCount, statCount, loss, metricCount, layerCount]
 *   metrics   one code each
 *   optimizer [kind, learningRate, a, b, c, d, e, clipNorm, clipValue]  (NaN = clipping off)
 *               sgd: momentum, nesterov · adagrad: initialAccumulatorValue, epsilon ·
 *               rmsprop: rho, momentum, epsilon, centered · adam: beta1, beta2, epsilon, weightDecay
 *   layers    [kind, inputs, units, activation, alpha, r0 … r5] each, where r0 … r5 are
 *               dense: kernel offset, bias offset (−1: none), l1, l2 · dropout: rate ·
 *               batch normalisation: γ, β, moving mean, moving variance offsets, momentum, ε
 * Codes are indices into LOSSES, METRICS and ACTIVATIONS; −1 means none.
 */
export function encodePlan(plan: Plan): Float64Array {
  const code: number[] = [
    1,
    plan.inputSize,
    plan.outputSize,
    plan.paramCount,
    plan.statCount,
    plan.loss === null ? -1 : LOSSES.indexOf(plan.loss),
    plan.metrics.length,
    plan.layers.length,
    ...plan.metrics.map((m) => METRICS.indexOf(m)),
    ...encodeOptimizer(plan.optimizer),
  ]
  let inputs = plan.inputSize
  for (const layer of plan.layers) {
    code.push(...encodeLayer(layer, inputs))
    inputs = layer.units
  }
  return Float64Array.from(code)
}

function encodeOptimizer(opt: OptimizerPlan | null): number[] {
  if (opt === null) return [-1, 0, 0, 0, 0, 0, 0, NaN, NaN]
  const clip = [opt.clip.norm ?? NaN, opt.clip.value ?? NaN]
  switch (opt.kind) {
    case 'sgd':
      return [0, opt.learningRate, opt.momentum, Number(opt.nesterov), 0, 0, 0, ...clip]
    case 'adagrad':
      return [1, opt.learningRate, opt.initialAccumulatorValue, opt.epsilon, 0, 0, 0, ...clip]
    case 'rmsprop':
      return [2, opt.learningRate, opt.rho, opt.momentum, opt.epsilon, Number(opt.centered), 0, ...clip]
    case 'adam':
      return [3, opt.learningRate, opt.beta1, opt.beta2, opt.epsilon, opt.weightDecay, 0, ...clip]
  }
}

function activation(act: ActivationPlan): [number, number] {
  // A plan read from a file may omit leakyRelu's alpha; the JS engine then uses the default.
  return [ACTIVATIONS.indexOf(act.name), act.name === 'leakyRelu' ? (act.alpha ?? DEFAULT_LEAKY_RELU_ALPHA) : 0]
}

function encodeLayer(layer: LayerPlan, inputs: number): number[] {
  switch (layer.kind) {
    case 'dense': {
      const reg = layer.kernelRegularizer
      return [0, inputs, layer.units, ...activation(layer.activation), layer.kernelOffset, layer.biasOffset, reg?.l1 ?? 0, reg?.l2 ?? 0, 0, 0]
    }
    case 'dropout':
      return [1, inputs, layer.units, 0, 0, layer.rate, 0, 0, 0, 0, 0]
    case 'batchNormalization':
      return [2, inputs, layer.units, 0, 0, layer.gammaOffset, layer.betaOffset, layer.meanOffset, layer.varianceOffset, layer.momentum, layer.epsilon]
    case 'activation':
      return [3, inputs, layer.units, ...activation(layer.activation), 0, 0, 0, 0, 0, 0]
  }
}
