import type { ActivationName, LayerPlan, LossName, MetricName, OptimizerPlan } from './plan.js'

/**
 * The wire schema of a Plan: the numbers that stand for its names, and the flat record layout in
 * which the native engine receives it (a Float64Array, so Rust needs no JSON parser). Stated once
 * here; crates/kernels/src/plan.rs mirrors it with the same numbers, and exporters or any other
 * engine read the codes from here. A code is part of the format: never renumber one, add new
 * names with new numbers. Every table `satisfies` a Record over its names, so a name added to
 * lib/plan.ts without a code does not compile.
 *
 * Layout (every value a float64; −1 means none, NaN means off):
 *   header    [version, inputSize, outputSize, paramCount, statCount, loss, metricCount, layerCount]
 *   metrics   metricCount codes
 *   optimizer [kind, learningRate, p0 … p4, clipNorm, globalClipNorm, clipValue]   (p: OPTIMIZER_FIELDS, 0-padded)
 *   layers    layerCount × [kind, inputs, units, activation, alpha, r0 … r5]   (r: LAYER_FIELDS, 0-padded)
 *
 * Booleans are 0 or 1. leakyRelu's alpha and a dense layer's l1/l2 are rounded to float32 (the
 * native kernels compute in float32), so the code of a plan is what Rust decodes it to.
 *
 * Learning-rate schedules are not part of a Plan: a callback moves the learning rate between
 * epochs, and the engine receives the rate in force with each training call. A saved model
 * records that rate beside the Plan (lib/io/model-file.ts), not the schedule.
 */
/** 2: the optimizer record gained globalClipNorm (clipNorm became per variable, as Keras's). */
export const PLAN_CODE_VERSION = 2

/** The code of an absent loss, optimizer, bias or activation. */
export const NONE = -1

export const ACTIVATION_CODES = { linear: 0, sigmoid: 1, tanh: 2, relu: 3, leakyRelu: 4, softmax: 5 } as const satisfies Record<ActivationName, number>

export const LOSS_CODES = {
  binaryCrossEntropy: 0,
  categoricalCrossEntropy: 1,
  sparseCategoricalCrossEntropy: 2,
  meanSquaredError: 3,
} as const satisfies Record<LossName, number>

export const METRIC_CODES = { accuracy: 0, meanAbsoluteError: 1, meanSquaredError: 2 } as const satisfies Record<MetricName, number>

export const LAYER_CODES = { dense: 0, dropout: 1, batchNormalization: 2, activation: 3 } as const satisfies Record<LayerPlan['kind'], number>

export const OPTIMIZER_CODES = { sgd: 0, adagrad: 1, rmsprop: 2, adam: 3 } as const satisfies Record<OptimizerPlan['kind'], number>

export const HEADER_LEN = 8
export const OPTIMIZER_LEN = 10
export const LAYER_LEN = 11

type OptimizerOf<K extends OptimizerPlan['kind']> = Extract<OptimizerPlan, { kind: K }>

/** The hyper-parameters p0 … p4 of each optimizer record, in order. */
export const OPTIMIZER_FIELDS = {
  sgd: ['momentum', 'nesterov'],
  adagrad: ['initialAccumulatorValue', 'epsilon'],
  rmsprop: ['rho', 'momentum', 'epsilon', 'centered'],
  adam: ['beta1', 'beta2', 'epsilon', 'weightDecay'],
} as const satisfies { [K in OptimizerPlan['kind']]: readonly (keyof OptimizerOf<K>)[] }

/**
 * The values r0 … r5 of each layer record, in order. A dense layer's l1 and l2 come from its
 * kernelRegularizer (0 without one); its biasOffset is −1 without a bias.
 */
export const LAYER_FIELDS = {
  dense: ['kernelOffset', 'biasOffset', 'l1', 'l2'],
  dropout: ['rate'],
  batchNormalization: ['gammaOffset', 'betaOffset', 'meanOffset', 'varianceOffset', 'momentum', 'epsilon'],
  activation: [],
} as const satisfies Record<LayerPlan['kind'], readonly string[]>
