import { DEFAULT_LEAKY_RELU_ALPHA } from '../../activations.js'
import type { ActivationPlan, LayerPlan, OptimizerPlan, Plan } from '../../plan.js'
import {
  ACTIVATION_CODES,
  LAYER_CODES,
  LAYER_FIELDS,
  LAYER_LEN,
  LOSS_CODES,
  METRIC_CODES,
  NONE,
  OPTIMIZER_CODES,
  OPTIMIZER_FIELDS,
  OPTIMIZER_LEN,
  PLAN_CODE_VERSION,
} from '../../plan-schema.js'

/**
 * The Plan as a flat Float64Array for the native engine, in the layout lib/plan-schema.ts
 * states; crates/kernels/src/plan.rs decodes and re-checks it.
 */
export function encodePlan(plan: Plan): Float64Array {
  const code: number[] = [
    PLAN_CODE_VERSION,
    plan.inputSize,
    plan.outputSize,
    plan.paramCount,
    plan.statCount,
    plan.loss === null ? NONE : LOSS_CODES[plan.loss],
    plan.metrics.length,
    plan.layers.length,
    ...plan.metrics.map((m) => METRIC_CODES[m]),
    ...encodeOptimizer(plan.optimizer),
  ]
  let inputs = plan.inputSize
  for (const layer of plan.layers) {
    code.push(...encodeLayer(layer, inputs))
    inputs = layer.units
  }
  return Float64Array.from(code)
}

/** [kind, learningRate, p0 … p4, clipNorm, globalClipNorm, clipValue]. */
function encodeOptimizer(opt: OptimizerPlan | null): number[] {
  if (opt === null) return padded([NONE, 0], OPTIMIZER_LEN - 3).concat(NaN, NaN, NaN)
  const fields: readonly string[] = OPTIMIZER_FIELDS[opt.kind]
  const values = fields.map((f) => Number(opt[f as keyof typeof opt]))
  return padded([OPTIMIZER_CODES[opt.kind], opt.learningRate, ...values], OPTIMIZER_LEN - 3).concat(opt.clip.norm ?? NaN, opt.clip.globalNorm ?? NaN, opt.clip.value ?? NaN)
}

/** [kind, inputs, units, activation, alpha, r0 … r5]. */
function encodeLayer(layer: LayerPlan, inputs: number): number[] {
  const [activation, alpha] = 'activation' in layer ? encodeActivation(layer.activation) : [0, 0]
  const values = layerValues(layer)
  const fields: readonly string[] = LAYER_FIELDS[layer.kind]
  return padded([LAYER_CODES[layer.kind], inputs, layer.units, activation, alpha, ...fields.map((f) => values[f]!)], LAYER_LEN)
}

/** The named numbers a layer record takes its fields from: the plan's, plus a dense layer's l1 and l2. */
function layerValues(layer: LayerPlan): Record<string, number> {
  if (layer.kind !== 'dense') return layer as never
  const reg = layer.kernelRegularizer
  return { ...layer, l1: Math.fround(reg?.l1 ?? 0), l2: Math.fround(reg?.l2 ?? 0) } as never
}

function encodeActivation(act: ActivationPlan): [number, number] {
  // A plan read from a file may omit leakyRelu's alpha; the JS engine then uses the default.
  return [ACTIVATION_CODES[act.name], act.name === 'leakyRelu' ? Math.fround(act.alpha ?? DEFAULT_LEAKY_RELU_ALPHA) : 0]
}

/** `values` followed by zeros up to `length`. */
function padded(values: number[], length: number): number[] {
  return values.concat(new Array<number>(length - values.length).fill(0))
}
