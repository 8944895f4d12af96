/**
 * The Plan: plain, JSON-serialisable data that describes a compiled network completely. Both
 * engines execute it, and a saved model records it. Offsets index the flat buffers:
 * `params` (trainable, updated by the optimizer) and `stats` (BatchNormalization's running
 * mean and variance, updated by training but not by the optimizer). Its numeric wire form (the
 * code of each name, the record layouts the native engine reads) is lib/plan-schema.ts.
 */

export const ACTIVATIONS = ['linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu', 'softmax'] as const
export type ActivationName = (typeof ACTIVATIONS)[number]

export interface ActivationPlan {
  name: ActivationName
  /** Slope for negative inputs (leakyRelu only). */
  alpha?: number
}

export const LOSSES = [
  'binaryCrossEntropy',
  'categoricalCrossEntropy',
  'sparseCategoricalCrossEntropy',
  'meanSquaredError',
] as const
export type LossName = (typeof LOSSES)[number]

export const METRICS = ['accuracy', 'meanAbsoluteError', 'meanSquaredError'] as const
export type MetricName = (typeof METRICS)[number]

export interface RegularizerPlan {
  l1: number
  l2: number
}

export interface DensePlan {
  kind: 'dense'
  inputs: number
  units: number
  activation: ActivationPlan
  /** Offset of the kernel W (inputs × units, row-major) in `params`. */
  kernelOffset: number
  /** Offset of the bias b (units) in `params`, or -1 without bias. */
  biasOffset: number
  kernelRegularizer: RegularizerPlan | null
}

export interface DropoutPlan {
  kind: 'dropout'
  units: number
  rate: number
}

export interface BatchNormalizationPlan {
  kind: 'batchNormalization'
  units: number
  momentum: number
  epsilon: number
  /** Offsets of gamma and beta (units each) in `params`. */
  gammaOffset: number
  betaOffset: number
  /** Offsets of the running mean and variance (units each) in `stats`. */
  meanOffset: number
  varianceOffset: number
}

export interface ActivationLayerPlan {
  kind: 'activation'
  units: number
  activation: ActivationPlan
}

export type LayerPlan = DensePlan | DropoutPlan | BatchNormalizationPlan | ActivationLayerPlan

export type OptimizerPlan =
  | { kind: 'sgd'; learningRate: number; momentum: number; nesterov: boolean; clip: ClipPlan }
  | {
      kind: 'adagrad'
      learningRate: number
      initialAccumulatorValue: number
      epsilon: number
      clip: ClipPlan
    }
  | {
      kind: 'rmsprop'
      learningRate: number
      rho: number
      momentum: number
      epsilon: number
      centered: boolean
      clip: ClipPlan
    }
  | {
      kind: 'adam'
      learningRate: number
      beta1: number
      beta2: number
      epsilon: number
      /** Decoupled weight decay (AdamW); 0 for plain Adam. */
      weightDecay: number
      clip: ClipPlan
    }

/**
 * Gradient clipping, as Keras names it: `norm` rescales each variable's gradient (a layer's
 * kernel, its bias, BatchNormalization's gamma or beta) whose L2 norm exceeds it; `globalNorm`
 * rescales the whole gradient when the norm of all of it exceeds it (at most one of the two);
 * then `value` clamps each component.
 */
export interface ClipPlan {
  /** Keras's `clipnorm`: per variable; null = off. */
  norm: number | null
  /** Keras's `global_clipnorm`: over every gradient together; null = off. */
  globalNorm: number | null
  /** Clamp each gradient component to [-value, value]; null = off. */
  value: number | null
}

export interface Plan {
  /** Version of the Plan format (saved models record it). */
  version: 1
  inputSize: number
  outputSize: number
  layers: LayerPlan[]
  /** Number of trainable parameters (length of `params`). */
  paramCount: number
  /** Number of non-trainable statistics (length of `stats`). */
  statCount: number
  /** Null until the model is compiled. */
  loss: LossName | null
  optimizer: OptimizerPlan | null
  metrics: MetricName[]
}

/**
 * The parameter ranges that are one variable each, in Keras's sense (the unit of per-variable
 * clipping): each dense kernel and bias, each BatchNormalization gamma and beta.
 */
export function variableRanges(plan: Pick<Plan, 'layers'>): [start: number, end: number][] {
  const ranges: [number, number][] = []
  for (const layer of plan.layers) {
    if (layer.kind === 'dense') {
      ranges.push([layer.kernelOffset, layer.kernelOffset + layer.inputs * layer.units])
      if (layer.biasOffset >= 0) ranges.push([layer.biasOffset, layer.biasOffset + layer.units])
    } else if (layer.kind === 'batchNormalization') {
      ranges.push([layer.gammaOffset, layer.gammaOffset + layer.units], [layer.betaOffset, layer.betaOffset + layer.units])
    }
  }
  return ranges
}

/** The initial optimizer state: zeros, except AdaGrad's accumulators. */
export function initialSlots(plan: Plan): Float32Array {
  const slots = new Float32Array(optimizerSlotCount(plan.optimizer) * plan.paramCount)
  if (plan.optimizer?.kind === 'adagrad') slots.fill(plan.optimizer.initialAccumulatorValue, 0, plan.paramCount)
  return slots
}

/** Optimizer state slots per parameter: each slot is a buffer parallel to `params`. */
export function optimizerSlotCount(optimizer: OptimizerPlan | null): number {
  if (optimizer === null) return 0
  switch (optimizer.kind) {
    case 'sgd':
      return optimizer.momentum > 0 ? 1 : 0
    case 'adagrad':
      return 1
    case 'rmsprop':
      return 1 + (optimizer.momentum > 0 ? 1 : 0) + (optimizer.centered ? 1 : 0)
    case 'adam':
      return 2
  }
}

/** The activation of the network's output, which decides fused losses and accuracy. */
export function outputActivation(plan: Plan): ActivationName {
  const last = plan.layers[plan.layers.length - 1]
  return last && (last.kind === 'dense' || last.kind === 'activation') ? last.activation.name : 'linear'
}

/** Softmax + (sparse) categorical cross-entropy and sigmoid + binary cross-entropy are fused. */
export function fusedOutput(plan: Plan): 'softmaxCrossEntropy' | 'sigmoidCrossEntropy' | null {
  const act = outputActivation(plan)
  if (act === 'softmax' && (plan.loss === 'categoricalCrossEntropy' || plan.loss === 'sparseCategoricalCrossEntropy')) {
    return 'softmaxCrossEntropy'
  }
  if (act === 'sigmoid' && plan.loss === 'binaryCrossEntropy') return 'sigmoidCrossEntropy'
  return null
}

/** Columns of the target matrix the engine expects: 1 (a class index) for sparse labels. */
export function targetColumns(plan: Plan): number {
  return plan.loss === 'sparseCategoricalCrossEntropy' ? 1 : plan.outputSize
}

/**
 * How 'accuracy' compares predictions with targets: class index against argmax (sparse labels),
 * argmax against argmax (one-hot targets), or thresholding each output at 0.5 (binary
 * cross-entropy, and single-output models).
 */
export type AccuracyKind = 'sparse' | 'categorical' | 'binary'

export function accuracyKind(plan: Plan): AccuracyKind {
  if (plan.loss === 'sparseCategoricalCrossEntropy') return 'sparse'
  if (plan.loss === 'binaryCrossEntropy' || plan.outputSize === 1) return 'binary'
  return 'categorical'
}
